#!/usr/bin/env bash
# Debian's chromium for the panel's browser tests (Playwright drives it; no browser download).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version
