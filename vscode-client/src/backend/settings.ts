/** The extension's settings, read forgivingly: a bad value is ignored and the user is told which
 * setting and why. A setting the user did not set is absent, never filled with a default: the
 * backend's own defaults (its config.toml, then its built-ins) are the only ones, stated once. */
import type { InitializationOptions, Mode } from '../protocol';
import { MODES } from '../protocol';

export type WireApi = NonNullable<InitializationOptions['wireApi']>;
const WIRE_APIS: readonly WireApi[] = ['responses', 'chat'];

export interface Settings {
  model?: string;
  baseUrl?: string;
  wireApi?: WireApi;
  /** Mode of new threads; absent: the backend's `default_mode`. */
  defaultMode?: Mode;
  pythonPath?: string;
  home?: string;
}

export interface SettingsSource {
  get(key: string): unknown;
}

/** What `WorkspaceConfiguration.inspect` returns, as far as this module cares. */
export interface InspectableSettings {
  inspect(key: string): { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined;
  get(key: string): unknown;
}

/** Settings that pick the interpreter, the endpoint the key is sent to, or the state folder.
 * A cloned repository's .vscode/settings.json must not choose them, so only user settings count
 * (VS Code's "machine" scope would do this too, but code-server reads such settings from a
 * machine file users do not know about). */
export const USER_ONLY_SETTINGS = ['pythonPath', 'baseUrl', 'home'] as const;

export function userOnlySource(config: InspectableSettings, problems: string[]): SettingsSource {
  return {
    get(key: string): unknown {
      if (!(USER_ONLY_SETTINGS as readonly string[]).includes(key)) return config.get(key);
      const inspected = config.inspect(key);
      if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined) {
        problems.push(`tether.${key} in workspace settings is ignored; set it in your user settings.`);
      }
      return inspected?.globalValue;
    },
  };
}

export interface ReadSettings {
  settings: Settings;
  /** One sentence per ignored setting, for a warning. */
  problems: string[];
}

function optionalString(source: SettingsSource, key: string, problems: string[]): string | undefined {
  const value = source.get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    problems.push(`tether.${key} must be a string; it is ignored.`);
    return undefined;
  }
  return value.trim() || undefined;
}

/** One of `choices`, or undefined when unset ("" is the settings UI's "backend default"). */
function optionalChoice<T extends string>(source: SettingsSource, key: string, choices: readonly T[], problems: string[]): T | undefined {
  const value = source.get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  problems.push(`tether.${key} must be one of ${choices.join(', ')}; the backend's default is used.`);
  return undefined;
}

export function readSettings(config: InspectableSettings): ReadSettings {
  const problems: string[] = [];
  const source = userOnlySource(config, problems);
  const settings: Settings = {
    model: optionalString(source, 'model', problems),
    wireApi: optionalChoice(source, 'wireApi', WIRE_APIS, problems),
    defaultMode: optionalChoice(source, 'defaultMode', MODES, problems),
    pythonPath: optionalString(source, 'pythonPath', problems),
    home: optionalString(source, 'home', problems),
  };
  const baseUrl = optionalString(source, 'baseUrl', problems);
  if (baseUrl !== undefined) {
    if (/^https?:\/\/[^\s]+$/.test(baseUrl)) settings.baseUrl = baseUrl;
    else problems.push(`tether.baseUrl "${baseUrl}" is not an http(s) URL; the backend's default endpoint is used.`);
  }
  return { settings, problems };
}

/** What `initialize` (and every later `workspace/didChangeConfiguration`) carries: only what the
 * user set, so the environment and config.toml decide the rest. The mode of new threads is not a
 * server setting: the client sends it with `thread/start` when the user chose one. */
export function initializationOptions(settings: Settings): InitializationOptions {
  const options: InitializationOptions = {};
  if (settings.model) options.model = settings.model;
  if (settings.baseUrl) options.baseUrl = settings.baseUrl;
  if (settings.wireApi) options.wireApi = settings.wireApi;
  if (settings.home) options.home = settings.home;
  return options;
}

/** What to tell a user whose first message found no model to talk to (error -32003), in terms
 * of the editor's settings rather than the backend's environment variables. */
export function modelSetupMessage(settings: Settings): string {
  const what =
    settings.baseUrl && !settings.model
      ? `Tether has no model for ${settings.baseUrl}: set tether.model to a model id that server offers (and tether.wireApi to "chat" for Ollama, vLLM or llama.cpp).`
      : 'Tether has no model to talk to yet. For OpenAI, run "Set API Key"; for another OpenAI-compatible server, set tether.baseUrl and tether.model (and tether.wireApi to "chat" for Ollama, vLLM or llama.cpp).';
  return `${what} Your message is still in the box.`;
}

/** The server's environment: the editor's own plus the API key from SecretStorage, which must
 * never be written to settings.json or sent over the wire. */
export function serverEnvironment(base: NodeJS.ProcessEnv, apiKey: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (apiKey) env.OPENAI_API_KEY = apiKey;
  return env;
}
