#!/usr/bin/env bash
# Runs every test suite and fails if any fails: lint and types (ruff, pyright: strict on
# protocol/ and sandbox/), the generated protocol files are current,
# the Python suites (unit, sandbox escape battery, e2e over stdio), and the VS Code client
# (unit, webview in Chromium, end to end in code-server). `test.sh python|vscode` runs one part.
set -uo pipefail
cd "$(dirname "$0")/.."
part=${1:-all}
failed=()

run() {
  local name=$1; shift
  echo "==> $name: $*"
  if "$@"; then echo "==> $name: ok"; else echo "==> $name: FAILED"; failed+=("$name"); fi
}

if [ "$part" = all ] || [ "$part" = python ]; then
  run ruff .venv/bin/ruff check .
  run ruff-format .venv/bin/ruff format --check .
  run pyright .venv/bin/pyright
  run protocol-export .venv/bin/python -m protocol.export --check
  run pytest .venv/bin/python -m pytest -q -p no:cacheprovider tests
fi
if [ "$part" = all ] || [ "$part" = vscode ]; then
  run vscode-client bash vscode-client/scripts/test.sh
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test suites passed"
