"""Photos and screenshots: decode safely, read the text with Tesseract, hash what it looks like.

OCR packs are chosen per image, not all at once (every extra pack slows Tesseract and adds
false readings): the resident's language, and the script Tesseract's orientation-and-script
detection sees when that differs (an Arabic notice forwarded by an English speaker).
Only words Tesseract is confident about are kept: a wrong word in a claim is worse than none.
The 64-bit pHash (DCT of a 32x32 grey image) survives resizing and recompression; aHash
cannot tell two screenshots of white-background text apart.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import warnings
from dataclasses import dataclass

import imagehash
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from bot.media.errors import MediaTooLarge, MediaUnreadable

log = logging.getLogger(__name__)
# Tesseract's OpenMP threads fight each other on a small shared machine: one thread per call
# reads a notice in under a second instead of several (measured on 2 cores). Set for the
# tesseract process only: CTranslate2 in this process produces garbage under that limit.
TESSERACT_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}

LANGUAGE_PACKS = {"en": "eng", "sw": "swa", "hi": "hin", "ar": "ara", "es": "spa", "id": "ind"}
PACK_SCRIPT = {"eng": "Latin", "swa": "Latin", "spa": "Latin", "ind": "Latin",
               "hin": "Devanagari", "ara": "Arabic"}
SCRIPT_PACKS = {"Latin": "eng", "Devanagari": "hin", "Arabic": "ara"}
OCR_MIN_WIDTH = 1200  # small text is read better after upscaling
OCR_MAX_SIDE = 2400  # and big photos are read as fast and as well when shrunk
OCR_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class ImageReading:
    text: str
    phash: str  # 16 hex digits
    width: int
    height: int
    packs: str  # the Tesseract packs used, e.g. "hin" or "swa+eng"


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """The decoded image; refuses bombs (huge dimensions) before decoding and truncated files."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise MediaTooLarge(f"{image.width}x{image.height} pixels")
            # WeasyPrint (the panel's PDF report) sets this process-wide flag when imported; a
            # resident's truncated file must still be refused, not half-read
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge("image dimensions") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaUnreadable("image does not decode") from exc
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # a GIF or animated WebP: its first frame
    return ImageOps.exif_transpose(image).convert("RGB")


def perceptual_hash(image: Image.Image) -> str:
    return str(imagehash.phash(image, hash_size=8))


def hamming(a: str, b: str) -> int:
    """Differing bits between two hex hashes of the same length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def read_image(data: bytes, language: str | None, max_pixels: int,
               min_confidence: float) -> ImageReading:
    image = open_image(data, max_pixels)
    packs = choose_packs(image, language, min_confidence)
    return ImageReading(ocr(image, packs, min_confidence), perceptual_hash(image),
                        image.width, image.height, packs)


def choose_packs(image: Image.Image, language: str | None, min_confidence: float) -> str:
    """The resident's pack, or the pack of the script detected when it is another script."""
    own = LANGUAGE_PACKS.get(language or "", "eng")
    script = detect_script(image, own, min_confidence)
    if script is None or script == PACK_SCRIPT[own]:
        return own if own == "eng" or PACK_SCRIPT[own] != "Latin" else f"{own}+eng"
    return SCRIPT_PACKS[script]


def detect_script(image: Image.Image, own: str, min_confidence: float) -> str | None:
    """The script most confident characters are in, from a quick sparse-text pass with one pack
    per script (Tesseract's own script detection needs more text than a notice has)."""
    probe = "+".join(dict.fromkeys([own, *SCRIPT_PACKS.values()]))
    small = image.copy()
    small.thumbnail((1000, 1000))
    text = ocr(small, probe, min_confidence, psm=11)
    counts: dict[str, int] = {}
    for ch in text:
        found = _script_of(ch)
        if found is not None:
            counts[found] = counts.get(found, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda name: counts[name])


def _script_of(ch: str) -> str | None:
    code = ord(ch)
    if 0x0900 <= code <= 0x097F:
        return "Devanagari"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
        return "Arabic"
    if ch.isascii() and ch.isalpha() or 0x00C0 <= code <= 0x024F:
        return "Latin"
    return None


def ocr(image: Image.Image, packs: str, min_confidence: float, psm: int = 6) -> str:
    """The confident words, line by line (page segmentation 6, one block of text: the
    automatic segmentation drops lines under a screenshot's status bar)."""
    lines: dict[tuple[str, str, str], list[str]] = {}
    for row in _tesseract_tsv(_prepared(image), packs, psm):
        word = (row.get("text") or "").strip()
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            continue
        if word and confidence >= min_confidence and _has_letters(word):
            key = (row["block_num"], row["par_num"], row["line_num"])
            lines.setdefault(key, []).append(word)
    return "\n".join(" ".join(words) for words in lines.values())


def _tesseract_tsv(image: Image.Image, packs: str, psm: int) -> list[dict[str, str]]:
    """Tesseract's word table for `image`. Called directly rather than through a wrapper
    library, to give the process its own environment and a time limit."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    try:
        command = ["tesseract", "stdin", "stdout", "-l", packs, "--psm", str(psm), "tsv"]
        result = subprocess.run(  # noqa: S603 - no shell, arguments are ours
            command, input=buffer.getvalue(), capture_output=True,
            timeout=OCR_TIMEOUT_SECONDS, env=TESSERACT_ENV, check=False)
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise MediaUnreadable("OCR failed") from exc
    if result.returncode != 0:
        raise MediaUnreadable("OCR failed")
    text = result.stdout.decode("utf-8", errors="replace")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def _has_letters(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def _prepared(image: Image.Image) -> Image.Image:
    grey = ImageOps.autocontrast(image.convert("L"))
    longest = max(grey.size)
    if grey.width < OCR_MIN_WIDTH:
        scale = min(OCR_MIN_WIDTH / grey.width, 3.0)
        grey = grey.resize((int(grey.width * scale), int(grey.height * scale)),
                           Image.Resampling.LANCZOS)
    elif longest > OCR_MAX_SIDE:
        scale = OCR_MAX_SIDE / longest
        grey = grey.resize((int(grey.width * scale), int(grey.height * scale)),
                           Image.Resampling.LANCZOS)
    return grey
