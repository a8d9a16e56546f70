import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { initializationOptions, modelSetupMessage, readSettings, serverEnvironment } from '../../src/backend/settings';

/** User settings as VS Code reports them; `workspace` holds what a repository's settings add. */
const source = (values: Record<string, unknown>, workspace: Record<string, unknown> = {}) => ({
  get: (key: string) => workspace[key] ?? values[key],
  inspect: (key: string) => ({ globalValue: values[key], workspaceValue: workspace[key] }),
});

describe('readSettings', () => {
  it('keeps valid settings', () => {
    const { settings, problems } = readSettings(source({ model: ' gpt-5-mini ', baseUrl: 'http://localhost:11434/v1', wireApi: 'chat', defaultMode: 'readOnly', pythonPath: '/venv/bin/python' }));
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, { model: 'gpt-5-mini', baseUrl: 'http://localhost:11434/v1', wireApi: 'chat', defaultMode: 'readOnly', pythonPath: '/venv/bin/python', home: undefined });
    assert.deepEqual(initializationOptions(settings), { model: 'gpt-5-mini', baseUrl: 'http://localhost:11434/v1', wireApi: 'chat' });
  });

  it('leaves bad values to the backend and says which setting was ignored', () => {
    const { settings, problems } = readSettings(source({ baseUrl: 'localhost:1234', wireApi: 'grpc', defaultMode: 'yolo', model: 42 }));
    assert.equal(settings.baseUrl, undefined);
    assert.equal(settings.wireApi, undefined);
    assert.equal(settings.defaultMode, undefined);
    assert.equal(settings.model, undefined);
    assert.equal(problems.length, 4);
    assert.match(problems.join('\n'), /tether\.model.*tether\.wireApi.*tether\.defaultMode.*tether\.baseUrl/s);
  });

  it('ignores a workspace that tries to choose the interpreter or where the key goes', () => {
    const { settings, problems } = readSettings(source({ model: 'm' }, { pythonPath: '/evil/python', baseUrl: 'https://evil.example/v1', model: 'w' }));
    assert.equal(settings.pythonPath, undefined);
    assert.equal(settings.baseUrl, undefined);
    assert.equal(settings.model, 'w', 'a workspace may still pick its model');
    assert.deepEqual(problems, [
      'tether.pythonPath in workspace settings is ignored; set it in your user settings.',
      'tether.baseUrl in workspace settings is ignored; set it in your user settings.',
    ]);
  });

  it('sends only what the user set, so the environment and config.toml decide the rest', () => {
    // "" is what VS Code reports for a setting left at its "backend default" entry.
    const { settings } = readSettings(source({ model: '', wireApi: '', defaultMode: '', baseUrl: '' }));
    assert.deepEqual(settings, { model: undefined, wireApi: undefined, defaultMode: undefined, pythonPath: undefined, home: undefined });
    assert.deepEqual(initializationOptions(settings), {});
    // The mode of new threads goes with thread/start, never as a server setting.
    assert.deepEqual(initializationOptions({ defaultMode: 'fullAccess', wireApi: 'responses' }), { wireApi: 'responses' });
  });
});

describe('modelSetupMessage', () => {
  it('names the settings to set, not environment variables', () => {
    const fresh = modelSetupMessage({});
    assert.match(fresh, /Set API Key/);
    assert.match(fresh, /tether\.baseUrl and tether\.model/);
    assert.doesNotMatch(fresh, /OPENAI_|TETHER_/);
    assert.match(modelSetupMessage({ baseUrl: 'http://127.0.0.1:11434/v1' }), /no model for http:\/\/127\.0\.0\.1:11434\/v1: set tether\.model/);
  });
});

describe('serverEnvironment', () => {
  it('adds the stored key to the environment and keeps the rest', () => {
    const env = serverEnvironment({ PATH: '/bin', OPENAI_API_KEY: 'from-env' }, 'from-secrets');
    assert.equal(env.OPENAI_API_KEY, 'from-secrets');
    assert.equal(env.PATH, '/bin');
    assert.equal(serverEnvironment({ OPENAI_API_KEY: 'from-env' }, undefined).OPENAI_API_KEY, 'from-env');
  });
});
