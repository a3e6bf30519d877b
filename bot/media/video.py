"""Videos: a few keyframes (ffmpeg), a pHash for each, OCR of burned-in text on the first
distinct ones, and the sound track through the speech model. The work per video is capped by
the number of keyframes and OCR passes and by the length of the video."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.media import images
from bot.media.audio import Transcriber, transcribe_file
from bot.media.errors import MediaTooLarge, MediaUnreadable
from bot.media.ffmpeg import ffmpeg, probe

FRAME_WIDTH = 960
DISTINCT_BITS = 6  # keyframes closer than this are the same picture


@dataclass(frozen=True)
class VideoReading:
    phashes: tuple[str, ...]
    ocr_text: str
    transcript: str
    seconds: float
    has_audio: bool


def keyframes(path: Path, limit: int) -> list[bytes]:
    """Up to `limit` keyframes as PNG, scaled to at most FRAME_WIDTH pixels wide."""
    with tempfile.TemporaryDirectory() as tmp:
        pattern = Path(tmp) / "frame%03d.png"
        ffmpeg(["-skip_frame", "nokey", "-i", str(path), "-map", "0:v:0", "-fps_mode", "vfr",
                "-vf", f"scale='min({FRAME_WIDTH},iw)':-2", "-frames:v", str(limit),
                str(pattern)])
        return [p.read_bytes() for p in sorted(Path(tmp).glob("frame*.png"))]


def read_video(path: Path, *, language: str | None, transcriber: Transcriber | None,
               max_seconds: float, max_keyframes: int, ocr_frames: int,
               min_confidence: float, max_pixels: int) -> VideoReading:
    info = probe(path)
    if not info.has_video:
        raise MediaUnreadable("no picture in this video")
    if info.duration > max_seconds:
        raise MediaTooLarge(f"{info.duration:.0f} s of video")
    hashes: list[str] = []
    texts: list[str] = []
    for frame in keyframes(path, max_keyframes):
        image = images.open_image(frame, max_pixels)
        phash = images.perceptual_hash(image)
        if any(images.hamming(phash, seen) < DISTINCT_BITS for seen in hashes):
            continue
        hashes.append(phash)
        if len(texts) < ocr_frames:
            packs = images.choose_packs(image, language, min_confidence)
            texts.append(images.ocr(image, packs, min_confidence))
    if not hashes:
        raise MediaUnreadable("no keyframe decoded")
    transcript = ""
    if info.has_audio and transcriber is not None:
        transcript = transcribe_file(transcriber, path, language, max_seconds).text
    return VideoReading(tuple(hashes), "\n".join(t for t in texts if t), transcript,
                        info.duration, info.has_audio)
