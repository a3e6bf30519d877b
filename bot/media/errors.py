"""What can go wrong with a resident's file, each with the catalogue key of the polite reply.

Residents never see exception text: the conversation says `reply_key` in their language.
"""

from __future__ import annotations


class MediaError(Exception):
    """A file we cannot or will not read; `reply_key` names the resident's reply."""

    reply_key = "media_unreadable"


class MediaTooLarge(MediaError):
    """More bytes, pixels or seconds than the limits for its kind allow."""

    reply_key = "media_too_large"


class MediaUnreadable(MediaError):
    """Empty, truncated or corrupt: the bytes are not what they claim to be."""

    reply_key = "media_unreadable"


class MediaUnsupported(MediaError):
    """A kind of file we do not read (a PDF, a sticker, a zip...)."""

    reply_key = "unsupported_media"


class MediaUnavailable(MediaError):
    """The platform would not give us the file (expired, deleted, network down)."""

    reply_key = "media_unavailable"
