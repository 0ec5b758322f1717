#!/usr/bin/env bash
# Make sure a Debian package's command is installed: ensure-debian-package.sh COMMAND PACKAGE WHY
# (make test and make demo use it for chromium, which the browser tests drive, and bubblewrap, which
# sandboxes every saturn-local server).
set -euo pipefail
command=$1 package=$2 why=$3
if command -v "$command" >/dev/null 2>&1; then exit 0; fi
echo "Installing Debian's $package ($why)..."
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "$command is missing and this user cannot install it: run 'apt-get install $package' as root" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# one apt at a time on this machine (two test runs may install at once); dpkg's own lock then waits too
exec 9>"${TMPDIR:-/tmp}/saturn-apt.lock"
flock 9
if command -v "$command" >/dev/null 2>&1; then exit 0; fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$package" >/dev/null
command -v "$command"
