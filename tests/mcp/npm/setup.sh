#!/usr/bin/env bash
# Install the reference MCP server (@modelcontextprotocol/server-everything) and the MCP
# conformance suite exactly as package-lock.json pins them into tests/mcp/npm/node_modules, for
# tests/e2e/test_mcp_npm.py. Idempotent: redone only when the lock file is newer than the install.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  && [ -d node_modules/@modelcontextprotocol/server-everything ] \
  && [ -d node_modules/@modelcontextprotocol/conformance ]; then
  exit 0
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
