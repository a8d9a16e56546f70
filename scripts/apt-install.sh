#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet, as root or
# through sudo (the only step of the set-up that needs either). Installs nothing when all are there.
#   scripts/apt-install.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "setup: ${missing[*]} must be installed; run as root, or install sudo, or run" \
      "'apt-get install ${missing[*]}' as root and try again" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]} with apt-get${as_root:+ (through sudo)}"
# Through env, not an assignment before sudo: sudo resets the environment, and tzdata would stop
# to ask for a time zone.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
