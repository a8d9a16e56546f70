/** Starting, restarting and stopping the backend process: picks the interpreter (creating the
 * extension's venv on first run, with visible progress), passes the API key through the
 * environment, wires approvals and binds the chat session. */
import * as vscode from 'vscode';
import type { ChatSession } from '../chat/session';
import type { CommandApprovals } from '../approvals/commandApproval';
import type { FileReadApprovals } from '../approvals/fileReadApproval';
import { askHookTrust } from '../approvals/hookTrust';
import type { FileProposals } from '../diff/proposals';
import type { McpElicitations } from '../mcp/elicitation';
import type { McpToolApprovals } from '../mcp/toolApproval';
import * as api from '../vscodeapi';
import { BackendConnection } from './connection';
import { SetupError, backendProblem, createVenv, venvIsCurrent, venvPlan } from './python';
import { initializationOptions, readSettings, serverEnvironment } from './settings';

export const API_KEY_SECRET = 'tether.openaiApiKey';

export class Backend implements vscode.Disposable {
  private connection?: BackendConnection;
  private starting?: Promise<void>;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly session: ChatSession,
    private readonly commands: CommandApprovals,
    private readonly proposals: FileProposals,
    private readonly reads: FileReadApprovals,
    private readonly mcp: { tools: McpToolApprovals; elicitations: McpElicitations },
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The running backend, for requests outside the chat session (the turn review). */
  get rpc(): BackendConnection | undefined {
    return this.connection;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** A new key, interpreter or home: the panel says "starting" meanwhile, not "stopped". */
  async restart(): Promise<void> {
    await this.stop('starting');
    await this.start();
  }

  async stop(status: 'stopped' | 'starting' = 'stopped'): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.commands.cancelAll();
    this.proposals.cancelAll();
    this.reads.cancelAll();
    this.mcp.tools.cancelAll();
    this.mcp.elicitations.cancelAll();
    if (connection) {
      this.session.detach(status);
      await connection.stop().catch((err: unknown) => this.log.warn(`stopping the backend: ${String(err)}`));
    }
  }

  /** Forwards model and endpoint settings to the running server without a restart, then shows
   * what they mean for the next turn (the model picker, the mode of a new thread). */
  async settingsChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    const { settings } = readSettings(api.getConfiguration('tether'));
    await connection.sendSettings(initializationOptions(settings));
    await this.session.settingsChanged({ model: e.affectsConfiguration('tether.model'), mode: e.affectsConfiguration('tether.defaultMode') });
  }

  dispose(): void {
    void this.stop();
  }

  private async doStart(): Promise<void> {
    const { settings, problems } = readSettings(api.getConfiguration('tether'));
    for (const problem of problems) void api.showWarningMessage(problem, { modal: false });
    try {
      const python = await this.python(settings.pythonPath);
      const apiKey = await this.context.secrets.get(API_KEY_SECRET);
      const connection = new BackendConnection({
        python,
        cwd: api.workspaceFolders()[0]?.uri.fsPath,
        env: serverEnvironment(process.env, apiKey),
        initializationOptions: initializationOptions(settings),
        outputChannel: this.log,
      });
      connection.onServerRequests({
        'approval/commandExecution': (params, token) => this.commands.request(params, token),
        'approval/fileChange': (params, token) => this.proposals.request(params, token),
        'approval/fileRead': (params, token) => this.reads.request(params, token),
        'approval/hookTrust': (params) => askHookTrust(params),
        // The extension declares no hook callbacks in initialize (that is the SDK's feature), so
        // the server has none to ask for; should it ask, the hook fails without blocking.
        'hook/callback': (params) => Promise.resolve({ error: `the VS Code client has no hook callback ${params.callbackId}` }),
        'approval/mcpToolCall': (params, token) => this.mcp.tools.request(params, token),
        'mcpServer/elicitation': (params, token) => this.mcp.elicitations.request(params, token),
      });
      this.log.info(`starting ${python} -m server --stdio`);
      await connection.start();
      this.log.info(`backend ready: ${JSON.stringify(connection.capabilities ?? {})}`);
      this.connection = connection;
      connection.onStateChange((running) => {
        if (!running && this.connection === connection) this.session.detach('error', 'The backend stopped; run "Tether: Restart Backend".');
      });
      await this.session.attach(connection);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(message);
      this.session.detach('error', message);
      const choice = await api.showErrorMessage(`Tether could not start its backend: ${message}`, 'Show Log', 'Open Settings');
      if (choice === 'Show Log') this.log.show(true);
      if (choice === 'Open Settings') void api.executeCommand('workbench.action.openSettings', 'tether.');
    }
  }

  private async python(configured: string | undefined): Promise<string> {
    if (configured) {
      const problem = await backendProblem(configured);
      if (problem) throw new SetupError(`tether.pythonPath: ${problem}. Install the backend into it (pip install <tether>) or clear the setting.`);
      return configured;
    }
    const plan = venvPlan(this.context.globalStorageUri.fsPath, vscode.Uri.joinPath(this.context.extensionUri, 'backend').fsPath, String(this.context.extension.packageJSON.version));
    if (venvIsCurrent(plan)) return plan.python;
    return api.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Tether: setting up the Python backend', cancellable: false }, (progress) =>
      createVenv(
        plan,
        (message) => progress.report({ message }),
        (line) => this.log.info(line),
      ),
    );
  }
}
