"""Running Debian's ffprobe and ffmpeg on a resident's file, with a time limit each.

Subprocesses rather than PyAV: a malformed file can crash a decoder, and a crash must cost
one refused file, not the worker process.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.media.errors import MediaUnreadable

PROBE_SECONDS = 15
DECODE_SECONDS = 120


@dataclass(frozen=True)
class Probe:
    duration: float
    has_audio: bool
    has_video: bool
    width: int
    height: int


def probe(path: Path) -> Probe:
    """Duration and streams of `path`; MediaUnreadable when ffprobe cannot make sense of it."""
    result = _run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                   "-show_streams", str(path)], PROBE_SECONDS)
    try:
        info = json.loads(result.stdout or b"{}")
        streams = info.get("streams", [])
        duration = float(info.get("format", {}).get("duration") or 0.0)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MediaUnreadable("ffprobe output") from exc
    if result.returncode != 0 or not streams:
        raise MediaUnreadable("ffprobe found no streams")
    video = [s for s in streams if s.get("codec_type") == "video"
             and not s.get("disposition", {}).get("attached_pic")]
    width = int(video[0].get("width") or 0) if video else 0
    height = int(video[0].get("height") or 0) if video else 0
    return Probe(duration, any(s.get("codec_type") == "audio" for s in streams), bool(video),
                 width, height)


def ffmpeg(args: list[str], seconds: float = DECODE_SECONDS) -> bytes:
    """ffmpeg's standard output for `args` (input and output given by the caller)."""
    result = _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *args], seconds)
    if result.returncode != 0:
        raise MediaUnreadable("ffmpeg failed")
    return result.stdout


def _run(command: list[str], seconds: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, capture_output=True, timeout=seconds, check=False)  # noqa: S603, S607
    except subprocess.TimeoutExpired as exc:
        raise MediaUnreadable(f"{command[0]} took longer than {seconds}s") from exc
