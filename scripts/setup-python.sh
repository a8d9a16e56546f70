#!/usr/bin/env bash
# Sets up the Python side on a fresh Debian machine: the system packages the backend and its tests
# use (bubblewrap for the command sandbox, git for workspaces, tzdata for the test pass in another
# timezone, python3-venv), then a virtual environment with exactly the versions and hashes of
# requirements.lock.txt and the project installed in editable mode.
#   scripts/setup-python.sh [VENV]     (default .venv; PYTHON=python3.13 picks the interpreter)
# Safe to run again: the environment is reinstalled only when the lock, pyproject.toml or the
# interpreter changed. Needs root or sudo only for missing Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
LOCK=requirements.lock.txt
APT_PACKAGES=(bubblewrap git ca-certificates tzdata python3-venv)

say() { echo "setup(python): $*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  say "installing ${missing[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v "$PYTHON" >/dev/null; then
  say "$PYTHON not found; install Python 3.11 or newer, or name one with PYTHON=python3.12" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi

# What the environment was built from; a different lock, project or interpreter rebuilds it.
wanted=$(cat "$LOCK" pyproject.toml | sha256sum | cut -d' ' -f1)-$("$VENV/bin/python" -c 'import sys; print(sys.version)')
stamp=$VENV/.tether-lock
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  say "installing $LOCK into $VENV"
  # Every file's hash is checked; --no-deps keeps out anything the lock does not name.
  "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$LOCK"
  # The project itself, built by the locked setuptools rather than whatever the index has today.
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  echo "$wanted" >"$stamp"
  say "$VENV now holds ($("$VENV/bin/python" --version)):"
  "$VENV/bin/python" -m pip freeze --all | sed 's/^/  /'
fi
