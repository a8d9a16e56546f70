import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { initializationOptions, readSettings, serverEnvironment } from '../../src/backend/settings';

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
  });

  it('falls back to defaults for bad values and says which setting was ignored', () => {
    const { settings, problems } = readSettings(source({ baseUrl: 'localhost:1234', wireApi: 'grpc', defaultMode: 'yolo', model: 42 }));
    assert.equal(settings.baseUrl, undefined);
    assert.equal(settings.wireApi, 'responses');
    assert.equal(settings.defaultMode, 'agent');
    assert.equal(settings.model, undefined);
    assert.equal(problems.length, 4);
    assert.match(problems.join('\n'), /tether\.baseUrl.*tether\.wireApi.*tether\.defaultMode/s);
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

  it('sends wireApi only when the user chose it, so TETHER_WIRE_API still applies', () => {
    const { settings } = readSettings(source({}));
    assert.deepEqual(initializationOptions(settings, false), { defaultMode: 'agent' });
    assert.deepEqual(initializationOptions({ ...settings, model: 'm' }, true), { defaultMode: 'agent', model: 'm', wireApi: 'responses' });
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
