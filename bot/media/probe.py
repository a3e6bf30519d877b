"""What a file really is, from its first bytes: the extension and the platform's MIME type are
only claims (a `.jpg` may be a script, a "voice note" may be a zip).

Written by hand because the checks are a dozen fixed signatures; libmagic would add a system
library for the same answer and still need the same mapping onto our three kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.media.errors import MediaUnreadable, MediaUnsupported


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "image", "audio" or "video"
    mime_type: str


def sniff(head: bytes) -> Sniffed:
    """The kind and MIME type of a file whose first bytes are `head` (at least 16 of them)."""
    if not head:
        raise MediaUnreadable("empty file")
    found = _image(head) or _audio(head) or _container(head)
    if found is None:
        raise MediaUnsupported("not an image, audio or video file")
    return found


def _image(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "image/gif")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    return None


def _audio(head: bytes) -> Sniffed | None:
    if head.startswith(b"OggS"):
        return Sniffed("audio", "audio/ogg")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed("audio", "audio/mpeg")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav")
    if head.startswith(b"#!AMR"):
        return Sniffed("audio", "audio/amr")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac")
    return None


def _container(head: bytes) -> Sniffed | None:
    if head[4:8] == b"ftyp":  # ISO base media: MP4, MOV, 3GP, or M4A audio
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return Sniffed("audio", "audio/mp4")
        return Sniffed("video", "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return Sniffed("video", "video/webm")
    return None
