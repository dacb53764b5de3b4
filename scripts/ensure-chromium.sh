#!/bin/sh
# Install Debian's Chromium (/usr/bin/chromium) for the browser tests (tests/test_page.py,
# tests/test_pages.py) when it is missing. Playwright drives this browser through
# executable_path; `playwright install` is never run and no browser is downloaded. Safe to run repeatedly: does nothing if Chromium is there.
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
