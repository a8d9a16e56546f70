#!/usr/bin/env bash
# Install OpenAI's Codex TypeScript SDK exactly as package-lock.json pins it into
# tests/codex_sdk/node_modules, for test_codex_sdk.py. `--omit=optional` leaves out the Codex
# binary (about 400 MB): the test points the SDK at `tether` through codexPathOverride.
# Idempotent: redone only when the lock file is newer than the install.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  && [ -f node_modules/@openai/codex-sdk/dist/index.js ]; then
  exit 0
fi
npm ci --omit=optional --no-audit --no-fund --loglevel=error
