"""The media stage: one resident's file in, what it says and what it looks like out.

`MediaStage.read` checks the bytes (size per kind, magic bytes: never the extension or the
platform's claim), then reads an image (OCR + pHash), audio (transcript + SHA-256) or video
(keyframe pHashes + OCR + transcript). CPU work runs in a thread, one file at a time per
process, so text messages handled by the same process are never held up behind a video.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.media import images
from bot.media.audio import Transcriber, transcribe_file
from bot.media.errors import MediaTooLarge, MediaUnavailable
from bot.media.model import model_directory
from bot.media.probe import sniff
from bot.media.store import MediaStore
from bot.media.video import read_video
from domain.messages import Media
from domain.settings import Settings

FILE_KINDS = frozenset({"photo", "image", "document", "voice", "audio", "video", "video_note",
                        "animation"})
SLOW_KINDS = frozenset({"voice", "audio", "video", "video_note", "animation"})


@dataclass(frozen=True)
class MediaReading:
    """What was read from one file; `machine_text` is what the matcher sees."""

    kind: str  # "image", "audio" or "video" (what the bytes are, not what was claimed)
    mime_type: str
    sha256: str
    phashes: tuple[str, ...] = ()
    ocr_text: str = ""
    transcript: str = ""
    duration: float | None = None
    seconds: float = 0.0  # time taken to read it
    ocr_packs: str = ""
    stored_as: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def machine_text(self) -> str:
        return "\n".join(t for t in (self.ocr_text, self.transcript) if t.strip())

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["phashes"] = list(self.phashes)
        data["machine_text"] = self.machine_text
        return data


def is_readable(media: Media) -> bool:
    return media.kind in FILE_KINDS and bool(media.ref)


def is_slow(media: Media) -> bool:
    """Kinds whose reading needs the speech model: acknowledged at once, read by a worker."""
    return media.kind in SLOW_KINDS


class MediaStage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = MediaStore(Path(settings.media_dir))
        self._transcriber: Transcriber | None = None
        self._busy = asyncio.Semaphore(1)

    def byte_limit(self, kind: str) -> int:
        """The largest download for a platform's media kind."""
        s = self.settings
        if kind in ("photo", "image", "sticker"):
            return s.media_max_image_bytes
        if kind in ("voice", "audio"):
            return s.media_max_audio_bytes
        return max(s.media_max_video_bytes, s.media_max_image_bytes, s.media_max_audio_bytes)

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            directory = model_directory(self.settings.whisper_model_dir, self.store.root)
            self._transcriber = Transcriber(directory, self.settings.whisper_compute_type,
                                            self.settings.whisper_threads)
        return self._transcriber

    async def read(self, data: bytes, language: str | None) -> MediaReading:
        async with self._busy:
            return await asyncio.to_thread(self.read_now, data, language)

    def read_now(self, data: bytes, language: str | None) -> MediaReading:
        """Read `data` in this thread (the CLI, the benchmark)."""
        started = _cpu_seconds(), time.perf_counter()
        sniffed = sniff(data[:64])
        self._check_size(sniffed.kind, len(data))
        digest = hashlib.sha256(data).hexdigest()
        if sniffed.kind == "image":
            reading = self._image(data, language, sniffed.mime_type, digest)
        else:
            reading = self._timed(data, language, sniffed.kind, sniffed.mime_type, digest)
        spent = time.perf_counter() - started[1]
        cpu = _cpu_seconds() - started[0]
        return MediaReading(**{**asdict(reading), "seconds": round(spent, 3),
                               "extra": {**reading.extra, "cpu_seconds": round(cpu, 3)}})

    def _check_size(self, kind: str, size: int) -> None:
        s = self.settings
        limit = {"image": s.media_max_image_bytes, "audio": s.media_max_audio_bytes,
                 "video": s.media_max_video_bytes}[kind]
        if size > limit:
            raise MediaTooLarge(f"{size} bytes")

    def _image(self, data: bytes, language: str | None, mime: str, digest: str) -> MediaReading:
        s = self.settings
        found = images.read_image(data, language, s.media_max_image_pixels,
                                  s.media_ocr_min_confidence)
        return MediaReading("image", mime, digest, (found.phash,), ocr_text=found.text,
                            ocr_packs=found.packs,
                            extra={"width": found.width, "height": found.height})

    def _timed(self, data: bytes, language: str | None, kind: str, mime: str,
               digest: str) -> MediaReading:
        s = self.settings
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "input"
            path.write_bytes(data)
            if kind == "audio":
                heard = transcribe_file(self.transcriber, path, language,
                                        s.media_max_audio_seconds)
                return MediaReading("audio", mime, digest, transcript=heard.text,
                                    duration=round(heard.seconds, 2))
            seen = read_video(path, language=language, transcriber=self.transcriber,
                              max_seconds=s.media_max_video_seconds,
                              max_keyframes=s.media_video_keyframes,
                              ocr_frames=s.media_video_ocr_frames,
                              min_confidence=s.media_ocr_min_confidence,
                              max_pixels=s.media_max_image_pixels)
            return MediaReading("video", mime, digest, seen.phashes, ocr_text=seen.ocr_text,
                                transcript=seen.transcript, duration=round(seen.seconds, 2),
                                extra={"has_audio": seen.has_audio})


def _cpu_seconds() -> float:
    """CPU time of this process and of the tools it ran (tesseract, ffmpeg)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class MediaSource(Protocol):
    """What a channel offers the stage: the bytes of one attachment, within a size limit
    (MediaTooLarge over it, MediaUnavailable when the platform will not give it)."""

    async def download(self, media: Media, max_bytes: int) -> bytes: ...


async def fetch(source: object, media: Media, max_bytes: int, seconds: float) -> bytes:
    """The attachment's bytes from the channel it came in on, within the time limit."""
    download = getattr(source, "download", None)
    if download is None:
        raise MediaUnavailable("this channel cannot download files")
    try:
        data: bytes = await asyncio.wait_for(download(media, max_bytes), seconds)
    except TimeoutError as exc:
        raise MediaUnavailable("download took too long") from exc
    if len(data) > max_bytes:
        raise MediaTooLarge(f"{len(data)} bytes")
    return data
