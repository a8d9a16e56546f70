// Builds the extension host bundle, the webview bundle and (with --tests) the test programs.
//   node esbuild.mjs [--production] [--tests]
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', target: 'es2022' };

await esbuild.build({
  ...common,
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  platform: 'node',
  format: 'cjs',
  external: ['vscode'],
});
await esbuild.build({
  ...common,
  entryPoints: { webview: 'src/webview/main.ts', 'webview-style': 'src/webview/style.css' },
  outdir: 'dist',
  platform: 'browser',
  format: 'iife',
});
// Codicons are served from the extension itself: webviews may load nothing from the network.
mkdirSync('dist/codicons', { recursive: true });
for (const file of ['codicon.css', 'codicon.ttf']) {
  cpSync(join('node_modules/@vscode/codicons/dist', file), join('dist/codicons', file));
}

if (tests) {
  const entries = (dir) => readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
  await esbuild.build({
    ...common,
    sourcemap: true,
    entryPoints: [...entries('test/unit'), ...entries('test/webview'), ...entries('test/e2e'), ...entries('test/tools')],
    outdir: 'out',
    outbase: 'test',
    platform: 'node',
    format: 'cjs',
    external: ['playwright-core', 'vscode'],
  });
}
