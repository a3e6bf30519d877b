#!/usr/bin/env bash
# Debian's tools for reading photos, voice notes and videos on the CPU, offline:
# Tesseract with the six languages' packs, ffmpeg, espeak-ng (the tests' synthetic voice notes)
# and the Noto fonts the tests render the six scripts with. A no-op when all are present.
set -euo pipefail
PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-swa tesseract-ocr-hin tesseract-ocr-ara
          tesseract-ocr-spa tesseract-ocr-ind ffmpeg espeak-ng fonts-noto-core)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
tesseract --list-langs
