/** The chat webview: applies the host's snapshot and events to the shared reducer and renders
 * each part of the panel when its slice of the state changed. */
import type { HostMessage, WebviewMessage } from '../chat/messages';
import { type ChatState, initialState, reduce, runningTurn } from '../state/reducer';
import { renderApprovals, renderBanner, renderHistory, renderMeter, renderPickers, renderToolbar } from './chrome';
import { Composer } from './composer';
import { h, icon } from './dom';
import { FileLinks } from './fileLinks';
import { FollowLatest } from './follow';
import { TranscriptRenderer } from './items';
import { renderMcpButton, renderMcpSection } from './mcp';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const post = (message: WebviewMessage): void => vscode.postMessage(message);

const toolbar = h('header', { className: 'toolbar', role: 'toolbar', 'aria-label': 'Tether' });
const meter = h('div', { className: 'meter', id: 'meter' });
const banner = h('div', { className: 'banner', id: 'banner' });
const approvals = h('section', { className: 'approvals', id: 'approvals', 'aria-label': 'Pending approvals', 'aria-live': 'assertive' });
const history = h('section', { className: 'history card', id: 'history', 'aria-label': 'Thread history' });
const mcp = h('section', { className: 'mcp card', id: 'mcp', 'aria-label': 'MCP servers' });
const mcpButton = h('button', { className: 'icon-button mcp-button', id: 'mcp-button', onclick: toggleMcp });
const transcript = h('main', { className: 'transcript', id: 'transcript', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
const turnsRoot = h('div', { className: 'transcript-content', id: 'transcript-content' });
transcript.append(turnsRoot);
const empty = h('div', { className: 'empty', id: 'empty' }, icon('comment-discussion'), h('p', {}, 'Ask Tether to explore, explain or change this workspace.'), h('p', { className: 'meta' }, 'Type @ to attach a file.'));
const composer = new Composer(post);
renderToolbar(toolbar, toggleHistory, post);
toolbar.querySelector('#history-button')!.before(mcpButton);
history.hidden = true;
mcp.hidden = true;
mcpButton.hidden = true;
const follow = new FollowLatest(transcript, turnsRoot);
const fileLinks = new FileLinks(turnsRoot, post);
const conversation = h('div', { className: 'conversation' }, transcript, follow.button);
toolbar.prepend(meter);
// Pending approvals sit between the conversation and the message box, next to the newest
// content and the place the user types, never over the transcript (issue 16).
document.getElementById('app')!.append(toolbar, banner, history, mcp, conversation, empty, approvals, composer.element);

const renderer = new TranscriptRenderer(turnsRoot, { post, expanded: new Map(), roots: () => (state.thread ? [state.thread.cwd, ...state.thread.roots] : []) });
let state: ChatState = initialState();
let shown: Partial<ChatState> = {};
let frame = 0;

function toggleHistory(): void {
  history.hidden = !history.hidden;
  if (!history.hidden) {
    post({ type: 'refreshHistory' });
    renderHistory(history, state, post, closeHistory);
    history.querySelector('button')?.focus();
  }
}

function toggleMcp(): void {
  if (mcp.hidden) showMcp();
  else closeMcp();
}

function showMcp(): void {
  mcp.hidden = false;
  renderMcpSection(mcp, state, post, closeMcp);
}

function closeMcp(): void {
  mcp.hidden = true;
  mcpButton.focus();
}

function closeHistory(): void {
  history.hidden = true;
  document.getElementById('history-button')?.focus();
}

function render(): void {
  frame = 0;
  if (state.mode !== shown.mode || state.models !== shown.models || state.pickedModel !== shown.pickedModel || state.defaultModel !== shown.defaultModel) {
    const pickers = composer.pickers;
    const hadFocus = pickers.contains(document.activeElement) ? document.activeElement?.id : undefined;
    renderPickers(pickers, state, post);
    if (hadFocus) document.getElementById(hadFocus)?.focus();
  }
  if (state.usage !== shown.usage) renderMeter(meter, state);
  if (state.server !== shown.server) renderBanner(banner, state);
  if (state.approvals !== shown.approvals) renderApprovals(approvals, state, post);
  if (state.history !== shown.history && !history.hidden) renderHistory(history, state, post, closeHistory);
  if (state.mcpServers !== shown.mcpServers || state.thread?.id !== shown.thread?.id) {
    renderMcpButton(mcpButton, state);
    if (!mcp.hidden) renderMcpSection(mcp, state, post, closeMcp);
  }
  // Another thread: start at its newest message.
  if (state.thread?.id !== shown.thread?.id) follow.jump();
  if (state.turns !== shown.turns) {
    renderer.render(state.turns);
    fileLinks.scan();
    empty.hidden = state.turns.length > 0;
    const running = runningTurn(state);
    composer.setRunning(running !== undefined, running !== undefined && !running.items.some((i) => i.type === 'userMessage'));
    document.body.dataset.running = String(runningTurn(state) !== undefined);
  }
  follow.settle();
  shown = { ...state };
}

function schedule(): void {
  frame ||= requestAnimationFrame(render);
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'snapshot':
      state = message.state;
      shown = {};
      break;
    case 'event':
      state = reduce(state, message.event);
      break;
    case 'mentions':
      composer.showCandidates(message.query, message.candidates);
      return;
    case 'focusInput':
      composer.focus();
      return;
    case 'showMcp':
      showMcp();
      return;
    case 'fileRefs':
      fileLinks.resolved(message.resolved);
      return;
    case 'restoreInput':
      composer.restore(message.text, message.files);
      return;
  }
  schedule();
});

render();
post({ type: 'ready' });
