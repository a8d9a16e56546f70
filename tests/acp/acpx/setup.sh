#!/usr/bin/env bash
# Install acpx, an independent ACP client, exactly as package-lock.json pins it into
# tests/acp/acpx/node_modules, for tests/acp/test_acpx.py. Idempotent: redone only when the
# lock file is newer than the install.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  && [ -f node_modules/acpx/dist/cli.js ]; then
  exit 0
fi
# Not `npm ci`: npm on Node 20 writes a lock without the other platforms' optional builds of
# @openclaw/fs-safe and then refuses that lock in `npm ci`. `npm install --no-save` installs
# the locked versions and leaves the lock as it is.
npm install --no-save --no-audit --no-fund --loglevel=error
