/** The chat session: owns the state of the shown thread and turns the panel's intents (send, steer,
 * stop, switch mode or model, open a thread) into protocol requests. No agent logic: what happens
 * is decided by the server and arrives back through the reducer. */
import type { BackendConnection } from '../backend/connection';
import { RpcError } from '../backend/connection';
import type { HunkSelection, Item, McpServer, Mode, Range, ReviewTarget, SandboxLauncherInfo, Thread, Turn, UserInput } from '../protocol';
import { ErrorCodes } from '../protocol';
import { type ChatEvent, type ChatState, initialState, nextModel, reduce, runningTurn } from '../state/reducer';

export interface SessionUi {
  /** Asks before full access; true to go ahead. */
  confirmFullAccess(): Promise<boolean>;
  /** Tells the user a request failed. */
  showError(message: string): void;
  /** No model is configured: says which settings to set and offers the way there. */
  showModelSetup(): void;
  workspace(): { cwd: string; roots: string[] } | undefined;
  /** tether.defaultMode when the user set it. */
  configuredMode(): Mode | undefined;
  /** The thread the panel showed last in this workspace, kept across reloads. */
  lastThread: { get(): string | undefined; set(threadId: string | undefined): void };
}

export type StateListener = (event: ChatEvent, state: ChatState) => void;

export class ChatSession {
  private state: ChatState;
  private connection?: BackendConnection;
  private readonly listeners = new Set<StateListener>();
  /** The mode picked in the panel for a thread not started yet. */
  private pickedMode?: Mode;
  /** The backend's `default_mode` (config.toml, else its built-in default). */
  private backendMode?: Mode;

  constructor(private readonly ui: SessionUi) {
    this.state = initialState();
  }

  get current(): ChatState {
    return this.state;
  }

  /** The command sandbox of the running backend (from its initialize result). */
  get sandbox(): SandboxLauncherInfo | undefined {
    return this.connection?.capabilities?.sandboxLauncher ?? undefined;
  }

  subscribe(listener: StateListener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  dispatch(event: ChatEvent): void {
    this.state = reduce(this.state, event);
    for (const listener of this.listeners) listener(event, this.state);
  }

  /** Binds to a freshly started server; a thread shown before a restart is resumed on it. */
  async attach(connection: BackendConnection): Promise<void> {
    this.connection = connection;
    this.backendMode = connection.capabilities?.defaultMode ?? undefined;
    connection.onNotification((notification) => this.dispatch({ type: 'notification', notification }));
    this.dispatch({ type: 'server', status: 'ready' });
    await Promise.all([this.refreshModels(), this.refreshHistory()]);
    if (this.state.thread) await this.openThread(this.state.thread.id);
    else await this.restoreLastThread();
    this.showNewThreadMode();
  }

  /** After a reload, the thread the user was in; one that is gone is forgotten quietly. */
  private async restoreLastThread(): Promise<void> {
    const threadId = this.ui.lastThread.get();
    if (!threadId) return;
    try {
      const { thread, turns } = await this.rpc().request('thread/resume', { threadId });
      this.dispatch({ type: 'threadLoaded', thread, turns });
    } catch {
      this.ui.lastThread.set(undefined);
      return;
    }
    await this.refreshMcpServers();
  }

  /** Without a thread, the panel shows the mode the next one starts in. */
  private showNewThreadMode(): void {
    const mode = this.pickedMode ?? this.ui.configuredMode() ?? this.backendMode;
    if (!this.state.thread && mode) this.dispatch({ type: 'modeSelected', mode });
  }

  /** The user changed tether.* settings the backend has just been sent: a new tether.model
   * replaces a model picked earlier in the panel, so the picker shows what the next turn uses. */
  async settingsChanged(changed: { model: boolean; mode: boolean }): Promise<void> {
    if (changed.mode) this.showNewThreadMode();
    await this.refreshModels(changed.model);
  }

  detach(status: 'stopped' | 'starting' | 'error', message?: string): void {
    this.connection = undefined;
    this.dispatch({ type: 'server', status, message });
  }

  private rpc(): BackendConnection {
    if (!this.connection) throw new RpcError('', 0, 'The Tether backend is not running; see the Tether output for why.');
    return this.connection;
  }

  /** Runs a request for the UI: failures become messages, never unhandled rejections. */
  private async guarded<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (err) {
      if (err instanceof RpcError && err.code === ErrorCodes.modelUnavailable) this.ui.showModelSetup();
      else this.ui.showError(`Tether could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private async ensureThread(): Promise<Thread | undefined> {
    if (this.state.thread) return this.state.thread;
    const where = this.ui.workspace();
    if (!where) {
      this.ui.showError('Open a folder first: Tether works inside a workspace.');
      return undefined;
    }
    // Only a mode the user chose is sent; otherwise the backend's default_mode decides.
    const mode = this.pickedMode ?? this.ui.configuredMode() ?? null;
    const { thread } = await this.rpc().request('thread/start', { ...where, mode, model: nextModel(this.state) ?? null });
    this.loaded(thread, []);
    return thread;
  }

  private loaded(thread: Thread, turns: Turn[]): void {
    this.dispatch({ type: 'threadLoaded', thread, turns });
    this.ui.lastThread.set(thread.id);
    // The thread's MCP servers start in the background; the list is not waited for.
    void this.refreshMcpServers();
  }

  /** The shown thread's MCP servers; `mcpServer/statusChanged` keeps them current after this. */
  async refreshMcpServers(): Promise<void> {
    const thread = this.state.thread;
    if (!thread) return;
    // Quiet on failure: the section then just stays empty (a backend without MCP, a stopped one).
    try {
      const { servers } = await this.rpc().request('mcpServer/list', { threadId: thread.id });
      this.dispatch({ type: 'mcpServers', threadId: thread.id, servers });
    } catch {
      // The section stays as it was.
    }
  }

  /** Restarts one server, or (no name) re-reads the configuration: new and changed servers
   * start, removed ones stop. */
  async reloadMcpServers(name?: string): Promise<void> {
    const thread = this.state.thread;
    if (!thread) return;
    const result = await this.guarded(name ? `restart the MCP server ${name}` : 'reload the MCP servers', () => this.rpc().request('mcpServer/reload', { threadId: thread.id, name: name ?? null }));
    if (result) this.dispatch({ type: 'mcpServers', threadId: thread.id, servers: result.servers });
  }

  /** Records the user's answer about a project's server definition (by its digest, so a changed
   * definition asks again); an accepted one starts. */
  async trustMcpServer(server: Pick<McpServer, 'name' | 'digest'>, decision: 'accept' | 'decline'): Promise<void> {
    const thread = this.state.thread;
    if (!thread || !server.digest) return;
    const digest = server.digest;
    const result = await this.guarded(`record the trust of ${server.name}`, () => this.rpc().request('mcpServer/trust', { threadId: thread.id, name: server.name, digest, decision }));
    // Refused when the definition changed since it was listed: the new one is shown to decide on.
    if (result) this.dispatch({ type: 'mcpServers', threadId: thread.id, servers: result.servers });
    else await this.refreshMcpServers();
  }

  /** True when the server took the message; false leaves it with the user (in the input box). */
  async send(text: string, files: string[] = []): Promise<boolean> {
    const input: UserInput[] = [{ type: 'text', text }, ...files.map((path): UserInput => ({ type: 'file', path }))];
    const sent = await this.guarded('send the message', async () => {
      const thread = await this.ensureThread();
      if (!thread) return false;
      const running = runningTurn(this.state);
      if (running) {
        await this.rpc().request('turn/steer', { threadId: thread.id, turnId: running.id, input });
        return true;
      }
      const { turn } = await this.rpc().request('turn/start', { threadId: thread.id, input, model: nextModel(this.state) ?? null });
      this.dispatch({ type: 'turnAccepted', turn });
      return true;
    });
    return sent === true;
  }

  /** A turn from the editor's inline chat: the selection attached, every edit proposed for
   * review hunk by hunk whatever the mode (`proposeEdits`). Undefined when the server did not
   * take it; a turn still running in the chat is not steered but left to finish. */
  async sendFromEditor(text: string, selection: { path: string; range: Range }): Promise<Turn | undefined> {
    return this.guarded('send the request', async () => {
      const thread = await this.ensureThread();
      if (!thread) return undefined;
      if (runningTurn(this.state)) {
        this.ui.showError('Tether is still working on a turn in the chat: wait for it or stop it, then try again.');
        return undefined;
      }
      const input: UserInput[] = [{ type: 'text', text }, { type: 'selection', ...selection }];
      const { turn } = await this.rpc().request('turn/start', { threadId: thread.id, input, model: nextModel(this.state) ?? null, proposeEdits: true });
      this.dispatch({ type: 'turnAccepted', turn });
      return turn;
    });
  }

  async stop(): Promise<void> {
    const thread = this.state.thread;
    const running = runningTurn(this.state);
    if (!thread || !running) return;
    await this.guarded('stop the turn', () => this.rpc().request('turn/interrupt', { threadId: thread.id, turnId: running.id }));
  }

  /** A sub-agent card's Stop: that child's turn only; the parent goes on. */
  async stopAgent(threadId: string, turnId: string): Promise<void> {
    await this.guarded('stop the sub-agent', () => this.rpc().request('turn/interrupt', { threadId, turnId }));
  }

  newThread(): void {
    this.pickedMode = undefined;
    this.dispatch({ type: 'threadCleared' });
    this.ui.lastThread.set(undefined);
    this.showNewThreadMode();
  }

  async openThread(threadId: string): Promise<void> {
    await this.guarded('open the thread', async () => {
      const { thread, turns } = await this.rpc().request('thread/resume', { threadId });
      this.loaded(thread, turns);
    });
  }

  async setMode(mode: Mode): Promise<boolean> {
    if (mode === this.state.mode) return true;
    if (mode === 'fullAccess' && !(await this.ui.confirmFullAccess())) return false;
    const thread = this.state.thread;
    if (!thread) {
      this.pickedMode = mode;
      this.dispatch({ type: 'modeSelected', mode });
      return true;
    }
    const result = await this.guarded('switch the mode', () => this.rpc().request('thread/setMode', { threadId: thread.id, mode }));
    if (result) this.dispatch({ type: 'modeSelected', mode: result.thread.mode });
    return result !== undefined;
  }

  selectModel(model: string | undefined): void {
    this.dispatch({ type: 'modelSelected', model });
  }

  /** The models to offer and the backend's default; `forgetPick` drops the panel's pick. */
  async refreshModels(forgetPick = false): Promise<void> {
    const result = await this.guarded('list the models', () => this.rpc().request('model/list', {}));
    if (result) this.dispatch({ type: 'models', models: result.models.map((m) => m.id), defaultModel: result.default ?? undefined, forgetPick });
  }

  /** Threads of this workspace, newest first. */
  async refreshHistory(): Promise<Thread[]> {
    const result = await this.guarded('list the threads', () => this.rpc().request('thread/list', { limit: 50, cwd: this.ui.workspace()?.cwd ?? null }));
    if (result) this.dispatch({ type: 'history', threads: result.threads });
    return result?.threads ?? [];
  }

  /** Proposes `content` (a code block of a reply) as an edit of `path`, reviewed per hunk. */
  async propose(path: string, content: string): Promise<void> {
    await this.guarded('apply the code block', async () => {
      const thread = await this.ensureThread();
      if (!thread) return;
      const { turn } = await this.rpc().request('change/propose', { threadId: thread.id, path, content });
      this.dispatch({ type: 'turnAccepted', turn });
    });
  }

  /** Reviews `target` in a read-only turn on the chat's thread (`review/start`, inline):
   * the turn ends with a `review` item of findings. False when the server did not take it. */
  async startReview(target: ReviewTarget): Promise<boolean> {
    const started = await this.guarded('start the review', async () => {
      const thread = await this.ensureThread();
      if (!thread) return false;
      if (runningTurn(this.state)) {
        this.ui.showError('Tether is still working on a turn in the chat: wait for it or stop it, then try again.');
        return false;
      }
      const { turn } = await this.rpc().request('review/start', { threadId: thread.id, target, delivery: 'inline' });
      this.dispatch({ type: 'turnAccepted', turn });
      return true;
    });
    return started === true;
  }

  /** Undoes applied hunks of an agent edit (all of the item's when `hunks` is absent). */
  async revertChange(itemId: string, hunks?: HunkSelection[]): Promise<Item | undefined> {
    const thread = this.state.thread;
    if (!thread) return undefined;
    const result = await this.guarded('undo the change', () => this.rpc().request('change/revert', { threadId: thread.id, itemId, hunks: hunks ?? null }));
    if (result) this.dispatch({ type: 'itemReplaced', threadId: thread.id, item: result.item });
    return result?.item;
  }
}
