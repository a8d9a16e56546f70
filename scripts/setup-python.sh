#!/usr/bin/env bash
# Sets up the Python side on a fresh Debian machine: the system packages the backend and its tests
# use (bubblewrap for the command sandbox, git for workspaces, tzdata for the test pass in another
# timezone, python3-venv), then a virtual environment with exactly the versions and hashes of
# requirements.lock.txt and the project installed in editable mode.
#   scripts/setup-python.sh [VENV] [--latest]   (default .venv; PYTHON=python3.13 picks the
#                                                interpreter)
# --latest installs the newest versions pyproject.toml allows instead of the lock's (a test of
# what the next `make lock-upgrade` would bring). Safe to run again: the environment is
# reinstalled only when the lock, pyproject.toml or the interpreter changed. Needs root or sudo
# only for missing Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${1:-.venv}
LATEST=${2:-}
asked=${PYTHON:-}
PYTHON=${PYTHON:-python3}
LOCK=requirements.lock.txt

say() { echo "setup(python): $*"; }

bash scripts/apt-install.sh bubblewrap git ca-certificates tzdata python3-venv
# Podman for the container executor and its tests (tests/containers); optional for running.
bash scripts/setup-podman.sh || say "podman is not set up; the podman executor and its tests need it" \
  "(run scripts/setup-podman.sh as root)" >&2

if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "$PYTHON is missing or older than 3.11; install Python 3.11 or newer, or name one with" \
    "PYTHON=python3.12" >&2
  exit 1
fi
version() { "$1" -c 'import sys; print(sys.version.split()[0])'; }
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with Python $(version "$PYTHON")"
  "$PYTHON" -m venv "$VENV"
elif [ -n "$asked" ] && [ "$(version "$VENV/bin/python")" != "$(version "$PYTHON")" ]; then
  say "recreating $VENV: it has Python $(version "$VENV/bin/python"), $PYTHON is $(version "$PYTHON")"
  "$PYTHON" -m venv --clear "$VENV"
fi

# What the environment was built from; a different lock or project rebuilds it.
wanted=$(cat "$LOCK" pyproject.toml | sha256sum | cut -d' ' -f1)
stamp=$VENV/.tether-lock
if [ "$LATEST" = --latest ]; then
  say "installing the newest allowed versions into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev]'
  rm -f "$stamp"
elif [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  say "installing $LOCK into $VENV"
  # Every file's hash is checked; --no-deps keeps out anything the lock does not name.
  "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$LOCK"
  # The project itself, built by the locked setuptools rather than whatever the index has today.
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  # --no-deps would hide a dependency pyproject.toml gained without a `make lock`.
  "$VENV/bin/python" scripts/check_lock.py
  "$VENV/bin/python" -m pip check
  echo "$wanted" >"$stamp"
else
  exit 0
fi
say "$VENV now holds ($("$VENV/bin/python" --version)):"
"$VENV/bin/python" -m pip freeze --all | sed 's/^/  /'
