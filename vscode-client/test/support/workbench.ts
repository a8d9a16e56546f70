/** What every end-to-end suite starts from: code-server (from npm) with the packaged .vsix, a
 * workspace, the backend from the repository's .venv, the scripted model server, and headless
 * Chromium on the workbench; plus the helpers that drive the chat panel and the Settings UI. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { NODE24, PYTHON, REPO, type Started, type StartedWithMatch, codeServerArgs, installExtension, killGroup, startUntil, writeUserSettings } from './processes';
import { ARTIFACTS } from './screenshots';

export interface WorkbenchOptions {
  /** Workspace files, by path relative to the workspace. */
  files: Record<string, string>;
  /** The model's turns, one per model request (see tests/model_server); an echo answers after. */
  script: unknown[];
  /** Model ids the endpoint lists. */
  models?: string[];
  /** User settings, given the model server's URL and the backend's home. */
  settings(baseUrl: string, home: string): Record<string, unknown>;
  /** The backend's config.toml in its home, if any. */
  configToml?: string;
  /** The environment code-server (and so the backend) starts with. */
  env?: NodeJS.ProcessEnv;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface ModelRequest {
  path: string;
  model: string;
}

export class Workbench {
  private constructor(
    readonly tmp: string,
    readonly workspace: string,
    readonly home: string,
    readonly userDataDir: string,
    readonly page: Page,
    private readonly browser: Browser,
    private readonly modelServer: StartedWithMatch,
    private readonly codeServer: Started,
  ) {}

  static async start(options: WorkbenchOptions): Promise<Workbench> {
    const tmp = mkdtempSync(join(tmpdir(), 'tether-e2e-'));
    const workspace = join(tmp, 'workspace');
    const home = join(tmp, 'tether-home');
    const extensionsDir = join(tmp, 'extensions');
    const userDataDir = join(tmp, 'user-data');
    for (const [path, text] of Object.entries(options.files)) {
      mkdirSync(dirname(join(workspace, path)), { recursive: true });
      writeFileSync(join(workspace, path), text);
    }
    mkdirSync(home, { recursive: true });
    if (options.configToml) writeFileSync(join(home, 'config.toml'), options.configToml);
    const scriptFile = join(tmp, 'script.json');
    writeFileSync(scriptFile, JSON.stringify(options.script));
    const models = (options.models ?? []).flatMap((m) => ['--model', m]);
    const modelServer = await startUntil(PYTHON, ['-m', 'tests.model_server', '--port', '0', '--script', scriptFile, '--echo', ...models], { cwd: REPO, ready: /^(http:\/\/\S+)\s*$/m, timeoutMs: 30_000 });
    let codeServer: Started | undefined;
    let browser: Browser | undefined;
    try {
      await installExtension(extensionsDir, userDataDir);
      writeUserSettings(userDataDir, options.settings(modelServer.match[1]!, home));
      const port = await freePort();
      codeServer = await startUntil(NODE24, codeServerArgs(port, extensionsDir, userDataDir, join(tmp, 'config.yaml'), workspace), {
        env: { ...(options.env ?? process.env), PYTHONPATH: REPO },
        ready: /HTTP server listening on/,
        timeoutMs: 60_000,
      });
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      return new Workbench(tmp, workspace, home, userDataDir, page, browser, modelServer, codeServer);
    } catch (err) {
      await browser?.close().catch(() => undefined);
      killGroup(codeServer);
      killGroup(modelServer);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    killGroup(this.codeServer);
    killGroup(this.modelServer);
    if (process.env.KEEP_E2E_TMP !== '1') rmSync(this.tmp, { recursive: true, force: true });
  }

  /** The scripted model server's base URL (what a user would put in tether.baseUrl). */
  get modelUrl(): string {
    return this.modelServer.match[1]!;
  }

  /** code-server's recent output, for failure messages. */
  log(): string {
    return this.codeServer.log();
  }

  /** The model requests the endpoint received, in order (from the model server's log). */
  modelRequests(): ModelRequest[] {
    return [...this.modelServer.output().matchAll(/^model request #\d+ (\S+) model=(\S+)/gm)].map((m) => ({ path: m[1]!, model: m[2]! }));
  }

  async snap(name: string): Promise<void> {
    await this.page.screenshot({ path: join(ARTIFACTS, `e2e-${name}.png`) }).catch(() => undefined);
  }

  /** The chat panel's content frame (VS Code nests a webview in two iframes). */
  chat(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  async openChat(): Promise<void> {
    // Clicking the icon of the view container already shown hides it; after a reload VS Code
    // may restore the Tether view just before or after the click, so click only while it is
    // not the active one, and look again if the panel does not come.
    const item = this.page.locator('.activitybar .action-item:has(a[aria-label^="Tether"])');
    for (let attempt = 1; ; attempt++) {
      if (!(await item.evaluate((el) => el.classList.contains('checked')))) await item.locator('a').click();
      try {
        await this.chat().locator('#prompt').waitFor({ timeout: 15_000 });
        break;
      } catch (error) {
        if (attempt === 4) throw error;
      }
    }
    await this.chat().locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
  }

  async send(text: string): Promise<void> {
    const prompt = this.chat().locator('#prompt');
    await prompt.fill(text);
    await prompt.press('Enter');
  }

  /** Runs a command from the command palette by its title. */
  async runCommand(title: string): Promise<void> {
    // Keys typed while the chat panel has the focus go to its webview, not to the workbench.
    if (await this.page.evaluate(() => document.activeElement?.tagName === 'IFRAME')) await this.page.locator('.part.statusbar').click({ position: { x: 600, y: 5 } });
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
  }

  /** Sets user settings through the Settings UI, as a user does (code-server does not pick up
   * settings.json edits while it runs): a text setting is typed, an enum picked by its label.
   * Returns once each is in settings.json, then closes the Settings editor. */
  async setSettings(values: Record<string, string>): Promise<void> {
    const editor = this.page.locator('.settings-editor');
    await this.runCommand('Preferences: Open User Settings'); // opens with the focus in its search
    await editor.locator('.settings-header .monaco-editor.focused').waitFor();
    // Room for every Tether setting at once (the editor remembers being maximized).
    const maximize = this.page.locator('a.action-label[aria-label^="Maximize Modal Editor"]');
    if (await maximize.count()) await maximize.click();
    await this.page.keyboard.insertText('@ext:tether.tether');
    const file = join(this.userDataDir, 'User', 'settings.json');
    for (const [key, value] of Object.entries(values)) {
      const control = editor.locator(`[aria-label="${key}"]`).first();
      await control.waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
        await this.snap(`setting-${key}-failed`);
        throw err;
      });
      if ((await control.evaluate((el) => el.tagName)) === 'SELECT') await control.selectOption({ label: value });
      else {
        await control.fill(value);
        await control.press('Tab');
      }
      // The Settings UI writes after a debounce; closing it before that would lose the value.
      // Read while the editor rewrites it, the file can be empty for a moment: not there yet.
      await until(`${key} in settings.json`, () => {
        try {
          return (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)[key] === value;
        } catch {
          return undefined;
        }
      });
    }
    await this.page.locator('a.action-label[aria-label^="Close Modal Editor"]').click();
    await editor.waitFor({ state: 'hidden' });
  }
}

/** CodeLens rows of an editor (by default the diff editor's right side), top to bottom. */
export async function codeLensRows(page: Page, editor = '.editor.modified'): Promise<Locator[]> {
  const rows = page.locator(`${editor} .codelens-decoration`);
  const count = await rows.count();
  const withTop = await Promise.all(Array.from({ length: count }, async (_, i) => ({ row: rows.nth(i), top: (await rows.nth(i).boundingBox())?.y ?? 0 })));
  return withTop.sort((a, b) => a.top - b.top).map((r) => r.row);
}
