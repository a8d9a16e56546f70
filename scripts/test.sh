#!/usr/bin/env bash
# Runs every test suite and fails if any fails: lint and types (ruff, pyright: strict on
# protocol/, sandbox/ and tether_sdk/), the generated protocol files are current,
# the Python suites (unit, sandbox escape battery, e2e over stdio, OpenAI's Codex SDK driving
# `tether exec --json` from node), and the VS Code client
# (unit, webview in Chromium, end to end in code-server). `test.sh python|vscode` runs one part.
#
# The Python environment comes from requirements.lock.txt (scripts/setup-python.sh): .venv,
# brought up to date first. With CI=true, or for the newest allowed versions
# (TETHER_DEPS=latest, `make test-latest`), it is instead built in a new directory every run and
# removed afterwards, so the run sees what a fresh machine sees; its `pip freeze` is printed.
# That directory is under /var/tmp, not /tmp: the command sandbox gives commands a private /tmp,
# and the suite runs this venv's pytest inside it.
#
# The Python suite runs once, shuffled (pytest-randomly; the seed is printed and
# TETHER_TEST_SEED=N repeats that order) and under TZ=Pacific/Kiritimati (UTC+14: its date
# differs from UTC's for 14 hours a day). One pass covers order and timezone dependence at
# once; a second pass for either would double the suite's cost in the 20-minute CI budget.
# Any failing step fails the run, pytest's exit 5 (no test collected) included.
set -uo pipefail
cd "$(dirname "$0")/.."
part=${1:-all}
deps=${TETHER_DEPS:-lock}
failed=()

run() {
  local name=$1; shift
  echo "==> $name: $*"
  if "$@"; then echo "==> $name: ok"; else echo "==> $name: FAILED (exit $?)"; failed+=("$name"); fi
}

if [ "${CI:-}" = true ] || [ "$deps" = latest ]; then
  scratch=$(mktemp -d "${TETHER_VENV_PARENT:-/var/tmp}/tether-test.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  # Named .venv so pyright finds it through --venvpath, as it finds ./.venv by pyproject.toml.
  venv=$scratch/.venv
else
  venv=$PWD/.venv
fi
setup_args=("$venv")
[ "$deps" = latest ] && setup_args+=(--latest)
if ! bash scripts/setup-python.sh "${setup_args[@]}"; then
  echo "FAILED: setting up the Python environment in $venv"
  exit 1
fi
py=$venv/bin/python
# The client's end-to-end test starts the backend with this interpreter.
export TETHER_PYTHON=$py

if [ "$part" = all ] || [ "$part" = python ]; then
  run ruff "$venv/bin/ruff" check .
  run ruff-format "$venv/bin/ruff" format --check .
  run pyright "$venv/bin/pyright" --venvpath "$(dirname "$venv")"
  run protocol-export "$py" -m protocol.export --check
  # OpenAI's Codex SDK, for tests/codex_sdk (a node test that drives `tether exec --json`).
  run codex-sdk-setup bash tests/codex_sdk/setup.sh
  # acpx, an independent ACP client, for tests/acp/test_acpx.py (drives `tether acp`).
  run acpx-setup bash tests/acp/acpx/setup.sh
  # The reference MCP server and the MCP conformance suite, for tests/e2e/test_mcp_npm.py.
  run mcp-npm-setup bash tests/mcp/npm/setup.sh
  seed=${TETHER_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
  echo "==> pytest: shuffled with seed $seed (TETHER_TEST_SEED=$seed repeats this order)," \
    "under TZ=Pacific/Kiritimati"
  if [ "$(TZ=Pacific/Kiritimati date +%z)" != +1400 ]; then
    echo "==> pytest: FAILED: the time zone Pacific/Kiritimati is unknown here (install tzdata)"
    failed+=(pytest)
  else
    run pytest env TZ=Pacific/Kiritimati "$py" -m pytest -q -p no:cacheprovider \
      -p randomly --randomly-seed="$seed" tests
  fi
fi
if [ "$part" = all ] || [ "$part" = vscode ]; then
  run vscode-client bash vscode-client/scripts/test.sh
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test suites passed"
