#!/usr/bin/env bash
# Make sure Debian's bubblewrap is installed (saturn-local sandboxes every server with it).
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then exit 0; fi
echo "Installing Debian's bubblewrap (saturn-local runs every server in its sandbox)..."
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "bwrap is missing and this user cannot install it: run 'apt-get install bubblewrap' as root" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq bubblewrap >/dev/null
command -v bwrap
