#!/usr/bin/env bash
# Install Debian's Chromium for the report's browser tests (tests/report/test_browser.py).
# Does nothing when a Chromium is already on PATH. Quiet and non-interactive; never fails the
# caller: without Chromium the browser tests skip with the reason.
set -u

for bin in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$bin" >/dev/null 2>&1; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: no apt-get here; install Chromium by hand (the browser tests skip without it)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_browser.sh: not root and no password-less sudo; skipping the Chromium install" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq >/dev/null &&
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }; then
    echo "install_browser.sh: apt-get could not install chromium; the browser tests will skip" >&2
fi
exit 0
