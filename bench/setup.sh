#!/usr/bin/env bash
# Install what `python -m bench` compares against: @openai/codex (pinned in package.json and
# package-lock.json) into bench/node_modules. Idempotent: does nothing when the binary runs.
set -euo pipefail
cd "$(dirname "$0")"
if [ -x node_modules/.bin/codex ] && node_modules/.bin/codex --version >/dev/null 2>&1; then
  exit 0
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/codex --version
