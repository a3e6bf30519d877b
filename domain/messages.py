"""The one inbound message type and the outbound message the core sends through channels.

Nothing past a channel adapter sees platform JSON: adapters build `InboundMessage`, and
render `OutboundMessage` (buttons degrade to numbered text where a channel has none).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from domain.models.base import utcnow
from domain.text import InvalidText, clean, identifier

# the columns these identifiers are stored in (residents.chat_id, inbox.platform_id, ...)
MAX_CHANNEL, MAX_SENDER, MAX_MESSAGE_ID, MAX_BUTTON_DATA = 20, 100, 200, 200


@dataclass(frozen=True)
class Media:
    """A reference to an attachment kept by the platform (we store the reference, not bytes)."""

    kind: str  # "photo", "image", "document", "voice", "video", "sticker", ...
    ref: str  # platform file id
    mime_type: str | None = None
    size: int | None = None  # bytes, when the platform says


@dataclass(frozen=True)
class InboundMessage:
    """Anything a resident sends: a message, a forwarded message, or a button press."""

    channel: str
    sender: str  # chat id to reply to
    message_id: str  # platform id, used to de-duplicate redeliveries
    text: str = ""
    media: tuple[Media, ...] = ()
    forwarded: bool = False
    language_hint: str | None = None
    callback_data: str | None = None  # set when a button was pressed
    callback_id: str | None = None
    reply_to_message_id: str | None = None
    received_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        """Every channel builds this type, so the shapes are checked here, where input enters:
        identifiers must fit their columns (`InvalidText` otherwise, which channels answer
        with 400 or by skipping that one message), text is made storable."""
        identifier(self.channel, MAX_CHANNEL, "the channel")
        identifier(self.sender, MAX_SENDER, "the sender id")
        identifier(self.message_id, MAX_MESSAGE_ID, "the message id")
        if not isinstance(self.text, str):
            raise InvalidText("the message text is not text")
        if self.callback_data is not None and not isinstance(self.callback_data, str):
            raise InvalidText("the button data is not text")
        if not isinstance(self.received_at, datetime) or self.received_at.tzinfo is None:
            raise InvalidText("the time the message was received is missing")
        fix = object.__setattr__
        fix(self, "text", clean(self.text))
        if self.callback_data is not None:
            fix(self, "callback_data", clean(self.callback_data)[:MAX_BUTTON_DATA])
        for name, limit in (
            ("callback_id", 200),
            ("reply_to_message_id", 100),
            ("language_hint", 10),
        ):
            value = getattr(self, name)
            if value is not None:
                fix(self, name, clean(str(value))[:limit] or None)
        fix(self, "media", tuple(_media(m) for m in self.media))

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> InboundMessage:
        data = dict(payload)
        data["media"] = tuple(Media(**m) for m in data.get("media", ()))
        data["received_at"] = datetime.fromisoformat(data["received_at"])
        return cls(**data)

    @property
    def is_command(self) -> bool:
        return self.callback_data is None and self.text.lstrip().startswith("/")


def _media(media: Media) -> Media:
    if not isinstance(media, Media):
        raise InvalidText("an attachment is malformed")
    mime = clean(media.mime_type)[:100] if isinstance(media.mime_type, str) else None
    size = media.size if isinstance(media.size, int) and media.size >= 0 else None
    return Media(clean(str(media.kind))[:20], clean(str(media.ref))[:500], mime, size)


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class OutboundMessage:
    """What the core wants said; `buttons` are rows of choices."""

    chat_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    reply_to: str | None = None
    language: str | None = None
    template: str | None = None  # catalogue key, for channels that need pre-approved templates
    template_params: tuple[str, ...] = ()
    # sent the moment the resident wrote (so WhatsApp's 24-hour window is open) even though
    # nothing about them is stored any more: the confirmation of /forget
    answers_message_now: bool = False
    # only the template may go: the platform said the free-form copy arrived too late (131047)
    as_template: bool = False

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OutboundMessage:
        data = dict(payload)
        data["buttons"] = tuple(Button(**b) for b in data.get("buttons", ()))
        data["template_params"] = tuple(data.get("template_params", ()))
        return cls(**data)

    def as_plain_text(self) -> str:
        """Buttons rendered as numbered lines, for channels without buttons."""
        if not self.buttons:
            return self.text
        lines = [
            b.label if b.label.startswith(f"{i}.") else f"{i}. {b.label}"
            for i, b in enumerate(self.buttons, start=1)
        ]
        return "\n".join([self.text, "", *lines])
