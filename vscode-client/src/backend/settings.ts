/** The extension's settings, read forgivingly: every option has a default, a bad value falls back
 * to it and the user is told which setting was ignored and why. */
import type { InitializationOptions, Mode } from '../protocol';
import { MODES } from '../protocol';

export interface Settings {
  model?: string;
  baseUrl?: string;
  wireApi: 'responses' | 'chat';
  defaultMode: Mode;
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

export function readSettings(config: InspectableSettings): ReadSettings {
  const problems: string[] = [];
  const source = userOnlySource(config, problems);
  const settings: Settings = { wireApi: 'responses', defaultMode: 'agent' };
  settings.model = optionalString(source, 'model', problems);
  settings.pythonPath = optionalString(source, 'pythonPath', problems);
  settings.home = optionalString(source, 'home', problems);
  const baseUrl = optionalString(source, 'baseUrl', problems);
  if (baseUrl !== undefined) {
    if (/^https?:\/\/[^\s]+$/.test(baseUrl)) settings.baseUrl = baseUrl;
    else problems.push(`tether.baseUrl "${baseUrl}" is not an http(s) URL; the backend's default endpoint is used.`);
  }
  const wireApi = source.get('wireApi');
  if (wireApi === 'responses' || wireApi === 'chat') settings.wireApi = wireApi;
  else if (wireApi !== undefined && wireApi !== null && wireApi !== '') problems.push(`tether.wireApi must be "responses" or "chat"; "responses" is used.`);
  const mode = source.get('defaultMode');
  if (typeof mode === 'string' && (MODES as readonly string[]).includes(mode)) settings.defaultMode = mode as Mode;
  else if (mode !== undefined && mode !== null && mode !== '') problems.push(`tether.defaultMode must be one of ${MODES.join(', ')}; "agent" is used.`);
  return { settings, problems };
}

/** What `initialize` carries. wireApi is only sent when a base URL or model is set, so an
 * environment's TETHER_WIRE_API is not overridden by an untouched default. */
export function initializationOptions(settings: Settings, wireApiExplicit: boolean): InitializationOptions {
  const options: InitializationOptions = { defaultMode: settings.defaultMode };
  if (settings.model) options.model = settings.model;
  if (settings.baseUrl) options.baseUrl = settings.baseUrl;
  if (wireApiExplicit) options.wireApi = settings.wireApi;
  if (settings.home) options.home = settings.home;
  return options;
}

/** The server's environment: the editor's own plus the API key from SecretStorage, which must
 * never be written to settings.json or sent over the wire. */
export function serverEnvironment(base: NodeJS.ProcessEnv, apiKey: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (apiKey) env.OPENAI_API_KEY = apiKey;
  return env;
}
