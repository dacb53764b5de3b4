#!/bin/sh
# Install Debian's Chromium (/usr/bin/chromium) for the query-page test, tests/test_page.py,
# when it is missing. The test drives this browser over the DevTools protocol; it never
# downloads a browser of its own. Safe to run repeatedly: does nothing if Chromium is there.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
/usr/bin/chromium --version
