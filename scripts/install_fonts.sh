#!/usr/bin/env bash
# Debian's Noto fonts and libraqm (text shaping for Devanagari and Arabic) for the share cards,
# Pango for the report PDF (WeasyPrint), poppler-utils for the tests reading that PDF.
# A no-op when they are installed.
set -euo pipefail
PACKAGES=(fonts-noto-core fonts-noto-ui-core libraqm0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
