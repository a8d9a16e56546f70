/** The panel's MCP parts: the servers section (status live from `mcpServer/statusChanged`, tools,
 * sandbox, restart, trust), the approval card of an MCP tool call, and the form of an
 * elicitation, whose typed values survive re-renders until it is answered. */
import type { WebviewMessage } from '../chat/messages';
import { type FieldValue, type FormField, type FormValues, formContent, initialValues, parseForm } from '../mcp/elicitationForm';
import { MCP_CHOICES, MCP_CHOICE_DETAILS, type McpChoice, STATUS_WORDS, annotationTags, approvalModeWords, argumentsLine, mcpApprovalMessage, sandboxWords, serversSummary, sortServers } from '../mcp/present';
import type { McpServer } from '../protocol';
import type { ChatState, PendingApproval } from '../state/reducer';
import { h, icon } from './dom';

type Post = (message: WebviewMessage) => void;

/** The toolbar button that opens the section; its look says when a server needs the user. */
export function renderMcpButton(button: HTMLButtonElement, state: ChatState): void {
  const servers = state.mcpServers ?? [];
  const summary = serversSummary(servers);
  button.hidden = state.mcpServers === undefined || servers.length === 0;
  button.title = `MCP servers: ${summary.label}`;
  button.setAttribute('aria-label', button.title);
  button.classList.toggle('attention', summary.attention);
  const ready = servers.filter((s) => s.status === 'ready').length;
  button.replaceChildren(icon('server'), h('span', { className: 'mcp-count' }, `${ready}/${servers.length}`));
}

/** Which tool lists the user opened, by server name. */
const openTools = new Set<string>();

function serverRow(server: McpServer, post: Post): HTMLElement {
  const status = STATUS_WORDS[server.status];
  const sandbox = sandboxWords(server);
  const where = [server.transport, server.project ? `project: ${server.source}` : server.source, server.restarts ? `restarted ${server.restarts}×` : '', server.required ? 'required' : ''].filter(Boolean).join(' · ');
  const tools = server.tools ?? [];
  const count = server.toolCount ?? tools.length;
  const restart =
    server.status === 'untrusted' || server.status === 'disabled'
      ? null
      : h('button', { className: 'icon-button mcp-restart', title: `Restart ${server.name}`, 'aria-label': `Restart ${server.name}`, onclick: () => post({ type: 'mcpRestart', name: server.name }) }, icon('debug-restart'));
  const trust =
    server.status === 'untrusted'
      ? h(
          'div',
          { className: 'actions' },
          h('button', { className: 'primary mcp-trust', title: 'Shows what it runs, then starts it', onclick: () => post({ type: 'mcpTrust', name: server.name }) }, icon('workspace-trusted'), server.trust === 'declined' ? ' Trust after all…' : ' Trust…'),
        )
      : null;
  let list: HTMLElement | null = null;
  if (tools.length) {
    list = h('details', { className: 'mcp-tools' });
    (list as HTMLDetailsElement).open = openTools.has(server.name);
    const head = h('summary', {}, `${count} tool${count === 1 ? '' : 's'}`);
    head.addEventListener('click', () => (openTools.has(server.name) ? openTools.delete(server.name) : openTools.add(server.name)));
    list.append(
      head,
      h(
        'ul',
        { className: 'mcp-tool-list' },
        ...tools.map((tool) => {
          const tags = [...annotationTags(tool.annotations), approvalModeWords(tool)].filter((t): t is string => Boolean(t));
          return h('li', { 'data-tool': tool.name, title: tool.modelName }, h('code', {}, tool.name), ...tags.map((t) => h('span', { className: `tag ${t.replace(/\s+/g, '-')}` }, t)), tool.description ? h('div', { className: 'meta' }, tool.description) : null);
        }),
      ),
    );
  }
  return h(
    'li',
    { className: `mcp-server ${server.status}`, 'data-server': server.name, 'data-status': server.status },
    h(
      'div',
      { className: 'mcp-head' },
      icon(status.icon),
      h('strong', { className: 'mcp-name' }, server.name),
      h('span', { className: `badge ${server.status}` }, status.label),
      server.status === 'ready' && !tools.length ? h('span', { className: 'meta' }, `${count} tool${count === 1 ? '' : 's'}`) : null,
      h('span', { className: 'spacer' }),
      restart,
    ),
    h('div', { className: `meta mcp-sandbox${sandbox.unsandboxed ? ' unsandboxed' : ''}` }, icon(sandbox.unsandboxed ? 'warning' : server.sandbox === 'remote' ? 'globe' : 'lock'), ` ${sandbox.label}`),
    h('div', { className: 'meta' }, where),
    server.command ? h('code', { className: 'mcp-command', title: server.command }, server.command) : null,
    server.error ? h('div', { className: server.status === 'failed' ? 'mcp-error' : 'meta mcp-note' }, server.error) : null,
    trust,
    list,
  );
}

export function renderMcpSection(root: HTMLElement, state: ChatState, post: Post, close: () => void): void {
  const servers = state.mcpServers;
  const title = h(
    'div',
    { className: 'card-title' },
    icon('server'),
    ' MCP servers',
    h('span', { className: 'spacer' }),
    state.thread ? h('button', { className: 'icon-button', id: 'mcp-reload', title: 'Reload the MCP configuration', 'aria-label': 'Reload the MCP configuration', onclick: () => post({ type: 'mcpReload' }) }, icon('refresh')) : null,
    h('button', { className: 'icon-button', 'aria-label': 'Close MCP servers', onclick: close }, icon('close')),
  );
  let body: HTMLElement;
  if (!state.thread) body = h('div', { className: 'meta' }, 'MCP servers start with a thread: send a message first.');
  else if (!servers?.length) body = h('div', { className: 'meta' }, 'No MCP servers are configured. Add [mcp_servers.<name>] to config.toml (TETHER_HOME or .tether/ in the workspace), or a .mcp.json to the workspace.');
  else body = h('ul', { className: 'mcp-servers' }, ...sortServers(servers).map((s) => serverRow(s, post)));
  // The summary on a line of its own: the title row stays one line in a narrow panel.
  const summary = servers?.length ? h('div', { className: 'meta mcp-summary' }, serversSummary(servers).label) : null;
  root.replaceChildren(h('div', { className: 'mcp-header' }, title, summary), body);
}

const CHOICE_ICONS: Record<McpChoice, string> = { Allow: 'play', 'Allow for session': 'run-all', 'Always allow': 'shield', Decline: 'circle-slash', Stop: 'debug-stop' };

/** `servers`: the thread's, for what the popup's params do not carry: the tool's description and
 * how its server is confined. */
export function mcpApprovalCard(approval: Extract<PendingApproval, { kind: 'mcpTool' }>, post: Post, servers: readonly McpServer[] = []): HTMLElement {
  const args = argumentsLine(approval.arguments, Infinity);
  const server = servers.find((s) => s.name === approval.server);
  const tool = server?.tools?.find((t) => t.name === approval.tool);
  const sandbox = server ? sandboxWords(server) : undefined;
  return h(
    'div',
    { className: 'card approval', role: 'group', 'aria-label': 'MCP tool approval', 'data-approval': approval.itemId },
    h('div', { className: 'card-title' }, icon('bell-dot'), ' Approval needed'),
    h('div', { className: 'approval-text' }, mcpApprovalMessage({ ...approval, arguments: undefined })),
    tool?.description ? h('div', { className: 'meta mcp-tool-description' }, `${approval.tool}: ${tool.description}`) : null,
    sandbox ? h('div', { className: `meta mcp-sandbox${sandbox.unsandboxed ? ' unsandboxed' : ''}` }, icon(sandbox.unsandboxed ? 'warning' : server?.sandbox === 'remote' ? 'globe' : 'lock'), ` ${approval.server}: ${sandbox.label}`) : null,
    args ? h('pre', { className: 'arguments', tabindex: '0', 'aria-label': 'Arguments' }, JSON.stringify(approval.arguments, null, 2)) : null,
    h('div', { className: 'actions' }, ...MCP_CHOICES.map((choice, i) => h('button', { className: i === 0 ? 'primary' : 'secondary', title: MCP_CHOICE_DETAILS[choice], onclick: () => post({ type: 'mcpToolApproval', itemId: approval.itemId, choice }) }, icon(CHOICE_ICONS[choice]), ` ${choice}`))),
  );
}

/** What the user typed into open forms, and the last errors shown, by elicitation. */
const drafts = new Map<string, FormValues>();
const formErrors = new Map<string, Record<string, string>>();

function fieldInput(field: FormField, values: FormValues, id: string): HTMLElement {
  const value = values[field.name];
  const set = (v: FieldValue): void => void (values[field.name] = v);
  const common = { id, name: field.name, 'aria-required': field.required ? 'true' : undefined };
  switch (field.kind) {
    case 'boolean': {
      const box = h('input', { ...common, type: 'checkbox' });
      box.checked = value === true;
      box.addEventListener('change', () => set(box.checked));
      return box;
    }
    case 'choice': {
      const select = h('select', common, h('option', { value: '' }, field.required ? 'Choose…' : '(none)'), ...field.options.map((o) => h('option', { value: o.value }, o.label)));
      select.value = typeof value === 'string' ? value : '';
      select.addEventListener('change', () => set(select.value));
      return select;
    }
    case 'multiChoice': {
      const chosen = new Set(Array.isArray(value) ? value : []);
      return h(
        'div',
        { ...common, role: 'group', className: 'multi-choice' },
        ...field.options.map((o) => {
          const box = h('input', { type: 'checkbox', value: o.value });
          box.checked = chosen.has(o.value);
          box.addEventListener('change', () => {
            if (box.checked) chosen.add(o.value);
            else chosen.delete(o.value);
            set(field.options.map((x) => x.value).filter((v) => chosen.has(v)));
          });
          return h('label', {}, box, ` ${o.label}`);
        }),
      );
    }
    case 'number':
    case 'text': {
      const type = field.kind === 'number' ? 'number' : field.format === 'email' ? 'email' : field.format === 'uri' ? 'url' : field.format === 'date' ? 'date' : 'text';
      const input = h('input', {
        ...common,
        type,
        step: field.kind === 'number' ? (field.integer ? '1' : 'any') : undefined,
        min: field.kind === 'number' ? field.minimum : undefined,
        max: field.kind === 'number' ? field.maximum : undefined,
        placeholder: field.kind === 'text' && field.format === 'date-time' ? '2025-01-31T12:00:00Z' : undefined,
      });
      input.value = typeof value === 'string' ? value : '';
      input.addEventListener('input', () => set(input.value));
      return input;
    }
  }
}

export function elicitationCard(approval: Extract<PendingApproval, { kind: 'elicitation' }>, post: Post): HTMLElement {
  const { itemId } = approval;
  const form = parseForm(approval.requestedSchema);
  let values = drafts.get(itemId);
  if (!values) drafts.set(itemId, (values = initialValues(form.fields)));
  const errors = formErrors.get(itemId) ?? {};
  const answer = (action: 'accept' | 'decline' | 'cancel', content?: FormValues): void => {
    drafts.delete(itemId);
    formErrors.delete(itemId);
    post(content ? { type: 'elicitationAnswer', itemId, action, values: content } : { type: 'elicitationAnswer', itemId, action });
  };
  const card = h('form', { className: 'card approval elicitation', role: 'group', 'aria-label': `Question from the MCP server ${approval.server}`, 'data-approval': itemId, novalidate: true });
  const rows = form.fields.map((field, i) => {
    const id = `${itemId}-f${i}`;
    const error = errors[field.name];
    const label = h('label', { for: id, className: 'field-label' }, field.label, field.required ? h('span', { className: 'required', 'aria-hidden': 'true' }, ' *') : null);
    const input = fieldInput(field, values, id);
    if (error) input.setAttribute('aria-invalid', 'true');
    const row = h(
      'div',
      { className: `field ${field.kind}`, 'data-field': field.name },
      field.kind === 'boolean' ? h('div', { className: 'inline' }, input, label) : [label, input],
      field.description ? h('div', { className: 'meta' }, field.description) : null,
      error ? h('div', { className: 'field-error', role: 'alert' }, error) : null,
    );
    // A field the user changes loses its old error; Submit checks it again.
    const edited = (): void => {
      delete formErrors.get(itemId)?.[field.name];
      input.removeAttribute('aria-invalid');
      row.querySelector('.field-error')?.remove();
    };
    row.addEventListener('input', edited);
    row.addEventListener('change', edited);
    return row;
  });
  const submit = h('button', { className: 'primary', type: 'submit', disabled: form.problems.length > 0 }, icon('check'), ' Submit');
  card.addEventListener('submit', (e) => {
    e.preventDefault();
    const checked = formContent(form.fields, values);
    if ('errors' in checked) {
      formErrors.set(itemId, checked.errors);
      card.replaceWith(elicitationCard(approval, post));
      return;
    }
    answer('accept', values);
  });
  const problems = form.problems.length ? [h('div', { className: 'field-error' }, `This form cannot be shown here (${form.problems.join('; ')}); decline or cancel.`)] : [];
  card.append(
    h('div', { className: 'card-title' }, icon('question'), ` ${approval.server} asks`),
    h('div', { className: 'approval-text' }, approval.message),
    ...rows,
    ...problems,
    h(
      'div',
      { className: 'actions' },
      submit,
      h('button', { className: 'secondary', type: 'button', title: 'Tell the server you will not answer', onclick: () => answer('decline') }, icon('circle-slash'), ' Decline'),
      h('button', { className: 'secondary', type: 'button', title: 'Dismiss without an answer', onclick: () => answer('cancel') }, icon('close'), ' Cancel'),
    ),
  );
  return card;
}

/** Forgets drafts of forms that are gone (answered elsewhere, cancelled by the server). */
export function pruneDrafts(approvals: readonly PendingApproval[]): void {
  const open = new Set(approvals.map((a) => a.itemId));
  for (const id of [...drafts.keys()]) if (!open.has(id)) drafts.delete(id);
  for (const id of [...formErrors.keys()]) if (!open.has(id)) formErrors.delete(id);
}
