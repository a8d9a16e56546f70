/** The JSON-RPC connection to `python -m server --stdio` through vscode-languageclient, typed by
 * the generated method maps. The only module that knows the languageclient API. */
import type * as vscode from 'vscode';
import { type CancellationToken, LanguageClient, type LanguageClientOptions, ResponseError, RevealOutputChannelOn, type ServerOptions, State } from 'vscode-languageclient/node';
import type { InitializationOptions, Notifications, RequestMethod, Requests, ServerNotification, ServerRequests, TetherCapabilities } from '../protocol';
import { NOTIFICATION_METHODS } from '../protocol';

export interface ConnectionOptions {
  python: string;
  cwd?: string;
  env: NodeJS.ProcessEnv;
  initializationOptions: InitializationOptions;
  outputChannel: vscode.OutputChannel;
}

export type ServerRequestHandler<M extends keyof ServerRequests> = (
  params: ServerRequests[M]['params'],
  token: CancellationToken,
) => Promise<ServerRequests[M]['result']>;

/** A request that failed with a JSON-RPC error; `code` is one of PROTOCOL.md section 7. */
export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The languageclient logs a stop it was asked for as "[Error] Server process exited with code
 * 0."; on a planned stop (a restart for a new key) that line is noise, so it is left out. */
function quietOnStop(channel: vscode.OutputChannel, stopping: () => boolean): vscode.OutputChannel {
  const appendLine = (value: string): void => {
    if (!(stopping() && /Server process exited with (code 0|signal SIGTERM)\./.test(value))) channel.appendLine(value);
  };
  // The channel outlives this connection (a restart makes a new one): never disposed from here.
  return new Proxy(channel, {
    get(target, property) {
      if (property === 'appendLine') return appendLine;
      if (property === 'dispose') return () => undefined;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export class BackendConnection {
  private readonly client: LanguageClient;
  private stopping = false;
  private notificationListeners: ((n: ServerNotification) => void)[] = [];
  capabilities?: TetherCapabilities;

  constructor(options: ConnectionOptions) {
    const serverOptions: ServerOptions = {
      command: options.python,
      args: ['-m', 'server', '--stdio'],
      options: { cwd: options.cwd, env: options.env },
    };
    const clientOptions: LanguageClientOptions = {
      // Every file buffer is synced so the agent reads what the user sees, saved or not.
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      initializationOptions: options.initializationOptions,
      outputChannel: quietOnStop(options.outputChannel, () => this.stopping),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // The server's failures reach the user through the panel, not as language-server popups.
      initializationFailedHandler: () => false,
    };
    this.client = new LanguageClient('tether', 'Tether', serverOptions, clientOptions);
  }

  async start(): Promise<void> {
    for (const method of NOTIFICATION_METHODS) {
      this.client.onNotification(method, (params: Notifications[typeof method]) => {
        const notification = { method, params } as ServerNotification;
        for (const listener of this.notificationListeners) listener(notification);
      });
    }
    await this.client.start();
    const experimental = this.client.initializeResult?.capabilities.experimental as { tether?: TetherCapabilities } | undefined;
    this.capabilities = experimental?.tether;
  }

  get running(): boolean {
    return this.client.state === State.Running;
  }

  onStateChange(listener: (running: boolean) => void): vscode.Disposable {
    return this.client.onDidChangeState((e) => listener(e.newState === State.Running));
  }

  onNotification(listener: (n: ServerNotification) => void): void {
    this.notificationListeners.push(listener);
  }

  /** One handler per server request of the protocol: the type fails to compile when the
   * protocol gains a request the client does not answer. */
  onServerRequests(handlers: { [M in keyof ServerRequests]: ServerRequestHandler<M> }): void {
    for (const method of Object.keys(handlers) as (keyof ServerRequests)[]) {
      // The table's type ties each handler to its method; the languageclient API is untyped here.
      const handler = handlers[method] as (params: unknown, token: CancellationToken) => Promise<unknown>;
      this.client.onRequest(method, (params: unknown, token: CancellationToken) => handler(params, token));
    }
  }

  async request<M extends RequestMethod>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']> {
    try {
      return (await this.client.sendRequest(method, params)) as Requests[M]['result'];
    } catch (err) {
      if (err instanceof ResponseError) throw new RpcError(method, err.code, err.message);
      throw err;
    }
  }

  /** Settings changed while running: the server takes the initializationOptions shape under
   * `settings.tether` (extension-only settings such as pythonPath are not its business). */
  async sendSettings(options: InitializationOptions): Promise<void> {
    await this.client.sendNotification('workspace/didChangeConfiguration', { settings: { tether: options } });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.client.isRunning()) await this.client.stop(5000);
  }
}
