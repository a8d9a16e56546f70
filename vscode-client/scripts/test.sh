#!/usr/bin/env bash
# Runs every test of the extension: type check, unit tests (node's test runner), the webview in
# headless Chromium, and end to end in code-server with the .vsix installed. Ends with one line
# 'N passed, N failed' and exits non-zero on any failure. Expects scripts/setup.sh to have run
# and the repository's .venv (scripts/setup-python.sh) for the end-to-end test.
#   scripts/test.sh [unit|webview|e2e]...   (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p out/reports out/screenshots

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(unit webview e2e)
passed=0
failed=0
broken=()

# A step that is not a test suite (type check, build) counts as one failed test when it breaks.
step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then return 0; fi
  echo "!! $name failed"
  failed=$((failed + 1))
  broken+=("$name")
  return 1
}

suite() {
  local name=$1 dir=$2
  echo "== $name tests"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="out/reports/$name.tap" "$dir"
  local code=$?
  local p f
  p=$(grep -E '^# pass ' "out/reports/$name.tap" | awk '{print $3}')
  f=$(grep -E '^# fail ' "out/reports/$name.tap" | awk '{print $3}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  # A suite that crashed before reporting, or that ran nothing, is a failure too.
  if [ "$code" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); broken+=("$name (exit $code)"); fi
  if [ "${p:-0}" -eq 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); broken+=("$name (no test ran)"); fi
  [ "${f:-0}" -gt 0 ] && broken+=("$name")
}

step typecheck node_modules/.bin/tsc --noEmit -p .
if step build bash -c 'npm run --silent package >/dev/null && node esbuild.mjs --tests'; then
  for stage in "${stages[@]}"; do
    case $stage in
      unit) suite unit out/unit ;;
      webview) suite webview out/webview ;;
      e2e) suite e2e out/e2e ;;
      *) echo "unknown stage $stage (unit, webview, e2e)"; failed=$((failed + 1)) ;;
    esac
  done
fi

[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]} (screenshots in vscode-client/out/screenshots)"
echo "vscode-client: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
