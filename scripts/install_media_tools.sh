#!/usr/bin/env bash
# Debian's tools for reading photos, voice notes and videos on the CPU, offline:
# Tesseract with the six languages' packs, ffmpeg (with ffprobe), espeak-ng (the tests'
# synthetic voice notes), and the Noto fonts plus libraqm the tests render the six scripts with.
#
# Idempotent: installs only what is missing (nothing, and no apt-get update, when all is there),
# never removes anything, then checks every tool and language pack works and exits non-zero,
# saying what is wrong, when one does not. Debian 11 (bullseye) or later; root or sudo.
set -euo pipefail

PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-swa tesseract-ocr-hin tesseract-ocr-ara
          tesseract-ocr-spa tesseract-ocr-ind ffmpeg espeak-ng fonts-noto-core libraqm0)
LANGUAGES=(eng swa hin ara spa ind)
FONTS=(/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf
       /usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf
       /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf)

fail() { echo "install_media_tools: $*" >&2; exit 1; }

command -v dpkg-query >/dev/null && command -v apt-get >/dev/null \
  || fail "this needs Debian (or a derivative with apt-get); install by hand: ${PACKAGES[*]}"

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=(env)
  elif command -v sudo >/dev/null; then
    as_root=(sudo env)  # `env` inside sudo, which would drop DEBIAN_FRONTEND otherwise
  else
    fail "not root and no sudo: as root, run apt-get install ${missing[*]}"
  fi
  echo "install_media_tools: installing ${missing[*]}"
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || fail "apt-get update failed (no network, or a broken sources list?)"
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}" \
    || fail "apt-get install failed for: ${missing[*]}"
fi

# whatever was or was not installed just now: does each piece work?
for tool in tesseract ffmpeg ffprobe espeak-ng; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH after installing"
done
langs="$(tesseract --list-langs 2>&1)" || fail "tesseract does not run: $langs"
for language in "${LANGUAGES[@]}"; do
  grep -qx "$language" <<<"$langs" || fail "Tesseract has no '$language' pack (tesseract-ocr-$language)"
done
# (outputs captured first: `cmd | grep -q` under pipefail fails when grep stops reading early)
encoders="$(ffmpeg -hide_banner -encoders 2>/dev/null)" || fail "ffmpeg does not run"
grep -q libopus <<<"$encoders" || fail "this ffmpeg cannot encode Opus (voice notes are OGG/Opus)"
voices="$(espeak-ng --voices=sw 2>/dev/null)" || fail "espeak-ng does not run"
grep -q " sw " <<<"$voices" || fail "espeak-ng has no Swahili voice"
for font in "${FONTS[@]}"; do
  [ -f "$font" ] || fail "font missing: $font (fonts-noto-core)"
done
echo "install_media_tools: tesseract (${LANGUAGES[*]}), ffmpeg, espeak-ng and fonts are ready"
