"""Debian's Noto fonts, one per script, and text split into runs each font can draw.

No single Noto face covers Latin, Devanagari and Arabic, and Pillow has no font fallback, so a
line is cut into runs by script (spaces, digits and punctuation stay with the run around them
when its font has the glyph). Each run is shaped on its own by libraqm (HarfBuzz + FriBiDi),
which is what joins Arabic letters and reorders Devanagari vowel signs.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont, features


class FontsMissing(RuntimeError):
    """The Noto fonts or libraqm are not installed (scripts/install_fonts.sh installs them)."""


class Script(enum.StrEnum):
    LATIN = "latin"
    DEVANAGARI = "devanagari"
    ARABIC = "arabic"


FACES: dict[Script, tuple[str, str]] = {
    Script.LATIN: ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    Script.DEVANAGARI: ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
    Script.ARABIC: ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),
}
LANGUAGE_TAGS = {Script.DEVANAGARI: "hi", Script.ARABIC: "ar", Script.LATIN: "en"}
_RANGES = (
    (0x0900, 0x097F, Script.DEVANAGARI),
    (0xA8E0, 0xA8FF, Script.DEVANAGARI),
    (0x0600, 0x06FF, Script.ARABIC),
    (0x0750, 0x077F, Script.ARABIC),
    (0x08A0, 0x08FF, Script.ARABIC),
    (0xFB50, 0xFDFF, Script.ARABIC),
    (0xFE70, 0xFEFF, Script.ARABIC),
)


def script_of(char: str) -> Script | None:
    """The script of a letter or mark; None for spaces, digits and punctuation."""
    code = ord(char)
    for low, high, script in _RANGES:
        if low <= code <= high:
            return script
    return Script.LATIN if unicodedata.category(char)[0] in "LM" else None


@dataclass(frozen=True)
class Run:
    text: str
    script: Script

    @property
    def rtl(self) -> bool:
        return self.script is Script.ARABIC


class Fonts:
    """Loaded faces by (script, bold, size), from one fonts directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not features.check("raqm"):
            raise FontsMissing("Pillow has no libraqm: install libraqm0 (scripts/install_fonts.sh)")
        for regular, bold in FACES.values():
            for name in (regular, bold):
                if not (self.directory / name).is_file():
                    raise FontsMissing(f"{name} is not in {self.directory}")

    def path(self, script: Script, bold: bool = False) -> Path:
        return self.directory / FACES[script][1 if bold else 0]

    def face(self, script: Script, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        return _face(str(self.path(script, bold)), size)

    def has_glyph(self, script: Script, char: str) -> bool:
        return _has_glyph(str(self.path(script)), char)

    def runs(self, text: str) -> list[Run]:
        """`text` cut into runs of one script each, in logical order."""
        runs: list[Run] = []
        pending = ""  # neutral characters before the first letter
        for char in text:
            script = script_of(char)
            if script is None:
                if runs and self.has_glyph(runs[-1].script, char):
                    runs[-1] = Run(runs[-1].text + char, runs[-1].script)
                elif runs:
                    runs.append(Run(char, Script.LATIN))
                else:
                    pending += char
                continue
            if runs and runs[-1].script is script:
                runs[-1] = Run(runs[-1].text + char, script)
            elif pending and self.has_glyph(script, pending[0]):
                runs.append(Run(pending + char, script))
                pending = ""
            else:
                if pending:
                    runs.append(Run(pending, Script.LATIN))
                    pending = ""
                runs.append(Run(char, script))
        if pending:
            runs.append(Run(pending, Script.LATIN))
        return _merge(runs)


def _merge(runs: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in runs:
        if merged and merged[-1].script is run.script:
            merged[-1] = Run(merged[-1].text + run.text, run.script)
        else:
            merged.append(run)
    return merged


@lru_cache(maxsize=256)
def _face(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


@lru_cache(maxsize=4096)
def _has_glyph(path: str, char: str) -> bool:
    if char.isspace():
        return True
    face = _face(path, 24)
    return bytes(face.getmask(char)) != bytes(face.getmask("\U0010fffd"))
