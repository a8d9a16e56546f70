/** The wire types the client uses, named once: everything comes from generated.ts (see
 * `python -m protocol.export`), the modes and error codes included; this module only adds names
 * for things the schema inlines. */
export * from './generated';
import type { Item, MODES, Notifications, Requests, ServerRequests } from './generated';

export type Mode = (typeof MODES)[number];
export type ItemType = Item['type'];
export type ItemOf<T extends ItemType> = Extract<Item, { type: T }>;
export type ItemStatus = ItemOf<'commandExecution'>['status'];

export type RequestMethod = keyof Requests;
export type NotificationMethod = keyof Notifications;
export type ServerRequestMethod = keyof ServerRequests;

/** A notification as it crossed the wire, tagged by its method so a switch narrows params. */
export type ServerNotification = {
  [M in NotificationMethod]: { method: M; params: Notifications[M] };
}[NotificationMethod];

// A record rather than a list so the compiler fails when a notification is added to the protocol
// and not listed here.
const notificationMethodSet: Record<NotificationMethod, true> = {
  'thread/started': true,
  'thread/modeChanged': true,
  'thread/tokenUsage/updated': true,
  'turn/started': true,
  'turn/completed': true,
  'turn/diff/updated': true,
  'turn/retrying': true,
  'item/started': true,
  'item/discarded': true,
  'item/updated': true,
  'item/completed': true,
  'item/agentMessage/delta': true,
  'item/reasoning/delta': true,
  'item/commandExecution/outputDelta': true,
  'hook/started': true,
  'hook/completed': true,
  'mcpServer/statusChanged': true,
};
export const NOTIFICATION_METHODS = Object.keys(notificationMethodSet) as NotificationMethod[];
