import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  MCP_CHOICES,
  MCP_DECISIONS,
  MCP_MORE_CHOICES,
  MCP_TOAST_CHOICES,
  annotationTags,
  argumentsLine,
  mcpApprovalMessage,
  otherContent,
  resultText,
  sandboxWords,
  serversSummary,
  serversToAsk,
  sortServers,
  toolCallSummary,
  trustMessage,
  urlElicitationMessage,
  urlProblem,
} from '../../src/mcp/present';
import type { McpServer, ServerNotification, Thread } from '../../src/protocol';
import { type ChatEvent, initialState, reduce } from '../../src/state/reducer';

const server = (name: string, status: McpServer['status'], extra: Partial<McpServer> = {}): McpServer => ({ name, status, transport: 'stdio', sandbox: 'workspaceWrite', source: '/home/u/.tether/config.toml', toolCount: 0, ...extra });
const thread: Thread = { id: 'th', cwd: '/w', roots: [], mode: 'agent', model: 'm', status: 'idle', createdAt: 1, updatedAt: 1 };
const n = (notification: ServerNotification): ChatEvent => ({ type: 'notification', notification });

describe('MCP servers in the chat state', () => {
  it('takes the list of the shown thread, then each statusChanged replaces its server or adds one', () => {
    const events: ChatEvent[] = [{ type: 'threadLoaded', thread, turns: [] }, { type: 'mcpServers', threadId: 'th', servers: [server('a', 'starting'), server('b', 'starting')] }];
    const listed = events.reduce(reduce, initialState());
    assert.deepEqual(listed.mcpServers?.map((s) => s.name), ['a', 'b']);
    const next = [
      n({ method: 'mcpServer/statusChanged', params: { threadId: 'th', server: server('b', 'ready', { toolCount: 3 }) } }),
      n({ method: 'mcpServer/statusChanged', params: { threadId: 'th', server: server('c', 'failed', { error: 'exited with 1' }) } }),
      // Another thread's server is not shown here.
      n({ method: 'mcpServer/statusChanged', params: { threadId: 'other', server: server('z', 'ready') } }),
      { type: 'mcpServers', threadId: 'other', servers: [] } as ChatEvent,
    ].reduce(reduce, listed);
    assert.deepEqual(next.mcpServers?.map((s) => [s.name, s.status, s.toolCount]), [['a', 'starting', 0], ['b', 'ready', 3], ['c', 'failed', 0]]);
    assert.equal(reduce(next, { type: 'threadCleared' }).mcpServers, undefined);
    assert.equal(reduce(next, { type: 'threadLoaded', thread: { ...thread, id: 'th2' }, turns: [] }).mcpServers, undefined, 'another thread: its own list comes');
    assert.equal(reduce(next, { type: 'threadLoaded', thread, turns: [] }).mcpServers, next.mcpServers, 'the same thread resumed keeps its servers');
  });

  it('closes an MCP approval or an elicitation of a turn when the turn ends', () => {
    let state = reduce(initialState(), { type: 'threadLoaded', thread, turns: [] });
    state = reduce(state, { type: 'approvalOpened', approval: { kind: 'mcpTool', threadId: 'th', turnId: 'tu', itemId: 'i1', server: 's', tool: 't', arguments: {} } });
    state = reduce(state, { type: 'approvalOpened', approval: { kind: 'elicitation', itemId: 'elicitation-1', threadId: 'th', turnId: 'tu', server: 's', mode: 'form', message: 'Name?' } });
    assert.equal(state.approvals.length, 2);
    state = reduce(state, n({ method: 'turn/completed', params: { threadId: 'th', turn: { id: 'tu', threadId: 'th', status: 'completed', items: [] } } }));
    assert.deepEqual(state.approvals, []);
  });
});

describe('MCP words', () => {
  it('never lets an unsandboxed server read as safe', () => {
    assert.deepEqual(sandboxWords(server('a', 'ready', { sandbox: 'none' })), { label: 'unsandboxed: runs as you, can do anything you can', unsandboxed: true });
    assert.equal(sandboxWords(server('a', 'ready')).label, 'sandboxed: writes in this folder, no network');
    assert.equal(sandboxWords(server('a', 'ready', { network: true })).label, 'sandboxed: writes in this folder, network allowed');
    assert.equal(sandboxWords(server('a', 'ready', { sandbox: 'remote', transport: 'http' })).unsandboxed, false);
  });

  it('sums the servers up, with what needs the user, and lists those first', () => {
    const servers = [server('z', 'ready'), server('y', 'failed'), server('x', 'untrusted', { trust: 'unknown' }), server('w', 'disabled'), server('v', 'starting'), server('u', 'ready')];
    assert.deepEqual(serversSummary(servers), { label: '2 of 6 ready, 1 starting, 1 failed, 1 to trust', attention: true });
    assert.deepEqual(serversSummary([server('a', 'ready')]), { label: '1 of 1 ready', attention: false });
    assert.deepEqual(sortServers(servers).map((s) => s.name), ['x', 'y', 'v', 'u', 'z', 'w']);
  });

  it('offers trust once per definition, only for project servers nobody answered for', () => {
    const servers = [
      server('a', 'untrusted', { project: true, digest: 'd1', trust: 'unknown' }),
      server('b', 'untrusted', { project: true, digest: 'd2', trust: 'declined' }),
      server('c', 'ready', { project: true, digest: 'd3', trust: 'trusted' }),
      server('d', 'untrusted', { project: true, digest: 'd4' }),
    ];
    assert.deepEqual(serversToAsk(servers, new Set()).map((s) => s.name), ['a', 'd']);
    assert.deepEqual(serversToAsk(servers, new Set(['d1'])).map((s) => s.name), ['d']);
    const message = trustMessage(server('docs', 'untrusted', { source: '/w/.mcp.json', command: 'npx -y docs-server', sandbox: 'none' }));
    assert.match(message, /^\/w\/\.mcp\.json defines the MCP server “docs”, which runs “npx -y docs-server” \(unsandboxed: runs as you/);
    assert.match(message, /asked again when its definition changes/);
    assert.match(trustMessage(server('api', 'untrusted', { transport: 'http', sandbox: 'remote', command: 'https://api.test/mcp' })), /connects to https:\/\/api\.test\/mcp/);
  });

  it('puts an approval as the command popup does: three toast buttons, every decision in the panel', () => {
    assert.deepEqual([...MCP_TOAST_CHOICES], ['Allow', 'Allow for session', 'More…']);
    assert.deepEqual([...MCP_MORE_CHOICES], ['Always allow', 'Decline', 'Stop']);
    assert.deepEqual(MCP_CHOICES.map((c) => MCP_DECISIONS[c]), ['accept', 'acceptForSession', 'acceptAlways', 'decline', 'cancel']);
    const message = mcpApprovalMessage({ server: 'gh', tool: 'create_issue', arguments: { title: 'Bug' }, annotations: { destructiveHint: true, openWorldHint: true }, reason: 'Agent mode asks before tools that change things.' });
    assert.equal(message, 'Tether wants to call “create_issue” of the MCP server “gh” with {"title":"Bug"}. The server marks it destructive and open world. Agent mode asks before tools that change things.');
    assert.doesNotMatch(message, /`/);
    assert.equal(mcpApprovalMessage({ server: 's', tool: 't', arguments: {} }), 'Tether wants to call “t” of the MCP server “s”.');
    assert.match(mcpApprovalMessage({ server: 's', tool: 't', arguments: {}, reason: 'this MCP tool may reach outside systems' }), /”\. This MCP tool may reach outside systems$/);
  });

  it('cuts long arguments and names non-text results', () => {
    assert.equal(argumentsLine({ text: 'x'.repeat(500) }).length, 160);
    assert.ok(argumentsLine({ text: 'x'.repeat(500) }).endsWith('…'));
    assert.equal(argumentsLine(null), '');
    assert.equal(toolCallSummary({ server: 's', tool: 'find', arguments: { limit: 3, text: 'greet' } }), 'find greet');
    assert.equal(toolCallSummary({ server: 's', tool: 'assign', arguments: { ticket: 42 } }), 'assign 42');
    assert.equal(toolCallSummary({ server: 's', tool: 'now', arguments: {} }), 'now');
    assert.deepEqual(annotationTags({ readOnlyHint: true }), ['read-only']);
    assert.equal(resultText({ content: [{ type: 'text', text: 'a' }, { type: 'image' }, { type: 'text', text: 'b' }], output: 'a\nb\n{"x": 1}' }), 'a\nb', 'the server text, not the JSON the model also got');
    assert.equal(resultText({ content: [], output: '{"sum": 3}' }), '{"sum": 3}');
    assert.equal(resultText(null), '');
    assert.deepEqual(otherContent([{ type: 'text', text: 'hi' }, { type: 'image', mimeType: 'image/png' }, { type: 'resource_link', uri: 'file:///a' }, 'junk']), ['image (image/png)', 'resource link (file:///a)']);
  });

  it('opens only web pages for a URL elicitation, and shows the whole address', () => {
    assert.equal(urlProblem('https://auth.example.com/start?x=1'), undefined);
    assert.equal(urlProblem('http://127.0.0.1:8080/'), undefined);
    assert.equal(urlProblem('file:///etc/passwd'), 'it is a file: link, not a web page');
    assert.equal(urlProblem('command:workbench.action.quit'), 'it is a command: link, not a web page');
    assert.equal(urlProblem('not a url'), '"not a url" is not a URL');
    assert.equal(urlProblem(null), 'it gave no URL');
    assert.equal(urlElicitationMessage({ server: 'gh', message: 'Sign in to GitHub.', url: 'https://github.com/login/device?code=AB' }), 'The MCP server “gh” asks you to open a page on github.com:\n\nhttps://github.com/login/device?code=AB\n\nSign in to GitHub.');
  });
});
