"""Files handed to us directly rather than kept by a platform: the web chat's upload field and
a path typed into the terminal chat.

`accept` turns the bytes into the `Media` reference every channel delivers: the file is kept
under RUMOURBOT_MEDIA_DIR by a random name, and its kind comes from its first bytes, never
from the browser's content type or the file's extension. A file we refuse at the door (too big,
empty, not an image, audio or video) is not kept: its reference names the refusal, and
`download` raises the matching `MediaError`, so the media worker answers it like any
platform's bad file, politely and in the resident's language.

`download` hands the bytes over once and deletes the upload: the worker keeps its own copy
(the one `/forget` and retention delete), so nothing of the resident's lingers twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.media.errors import (
    MediaError,
    MediaTooLarge,
    MediaUnavailable,
    MediaUnreadable,
    MediaUnsupported,
)
from bot.media.probe import sniff
from bot.media.store import MediaStore
from domain.messages import Media
from domain.settings import Settings

REFUSED: dict[str, type[MediaError]] = {
    "!too_large": MediaTooLarge,
    "!unreadable": MediaUnreadable,
    "!unsupported": MediaUnsupported,
}
CLAIMED_FAMILIES = ("image/", "audio/", "video/")
NEUTRAL_TYPES = ("", "application/octet-stream")
HEAD = 64


class LocalUploads:
    """Residents' files received directly, as `Media` references the media worker downloads."""

    def __init__(self, settings: Settings) -> None:
        self.store = MediaStore(Path(settings.media_dir))
        self.limits = {"image": settings.media_max_image_bytes,
                       "audio": settings.media_max_audio_bytes,
                       "video": settings.media_max_video_bytes}

    @property
    def largest(self) -> int:
        """The most bytes any kind of file may have (read no more than one past it)."""
        return max(self.limits.values())

    def accept(self, data: bytes, claimed_type: str | None = None) -> Media:
        """Keep `data` and return its reference, or a refusal reference when it is too big,
        empty or not an image, audio or video file (whatever it claims to be)."""
        claimed = (claimed_type or "").split(";")[0].strip().lower()
        if claimed not in NEUTRAL_TYPES and not claimed.startswith(CLAIMED_FAMILIES):
            return refusal("!unsupported")
        if len(data) > self.largest:
            return refusal("!too_large")
        try:
            found = sniff(data[:HEAD])
        except MediaError as exc:
            return refusal("!unreadable" if isinstance(exc, MediaUnreadable) else "!unsupported")
        if len(data) > self.limits[found.kind]:
            return refusal("!too_large")
        name = self.store.save(data, found.mime_type)
        return Media(kind=_kind(found.kind, found.mime_type), ref=name,
                     mime_type=found.mime_type, size=len(data))

    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The upload's bytes, once (the file is deleted); a refusal raises its error."""
        refused = REFUSED.get(media.ref)
        if refused is not None:
            raise refused(f"refused on upload: {media.ref[1:]}")
        path = self.store.path(media.ref)
        if path is None:
            raise MediaUnavailable("the upload is gone")
        data = await asyncio.to_thread(path.read_bytes)
        self.store.delete([media.ref])
        if len(data) > max_bytes:
            raise MediaTooLarge(f"{len(data)} bytes")
        return data


def refusal(reason: str) -> Media:
    """A reference that carries no file, only why it was refused ("document": no "I am
    listening" first, since nothing will be heard)."""
    return Media(kind="document", ref=reason)


def _kind(kind: str, mime_type: str) -> str:
    if kind == "image":
        return "photo"
    if kind == "audio":
        return "voice" if mime_type == "audio/ogg" else "audio"
    return "video"


def read_limited(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of a local file: one past the limit is enough to refuse it."""
    with path.open("rb") as source:
        return source.read(limit + 1)
