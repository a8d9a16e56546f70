#!/usr/bin/env bash
# Writes requirements.lock.txt: every runtime and dev dependency of pyproject.toml, and the build
# backend the editable install uses, pinned to one exact version with the hashes of all its files
# on PyPI. One universal lock serves Python 3.11, 3.12 and 3.13 (markers where they differ).
#   scripts/lock.sh             keep the pinned versions; add or drop what pyproject.toml changed
#   scripts/lock.sh --upgrade   move every package to its newest version the ranges allow
# Resolves against PyPI itself: pip's or uv's configuration on this machine (local mirrors,
# find-links) must not leak into a file every other machine installs from.
set -euo pipefail
cd "$(dirname "$0")/.."

UV=${UV:-.venv/bin/uv}
if [ ! -x "$UV" ]; then
  echo "lock: $UV is missing; run scripts/setup-python.sh first (uv is a dev dependency)" >&2
  exit 1
fi

# The build-system requirements, read from pyproject.toml so they are named once.
build_requires=$(.venv/bin/python -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))
')

upgrade=()
[ "${1:-}" = --upgrade ] && upgrade=(--upgrade)

env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_INDEX -u UV_FIND_LINKS -u UV_CONSTRAINT \
  "$UV" pip compile pyproject.toml --extra dev - \
  --universal --python-version 3.11 --generate-hashes "${upgrade[@]}" \
  --no-config --index-url https://pypi.org/simple \
  --custom-compile-command "make lock" \
  --quiet --output-file requirements.lock.txt <<<"$build_requires"
echo "lock: wrote requirements.lock.txt"
