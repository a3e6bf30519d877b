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
PRIVATE, GROUP = "private", "group"  # chat kinds: a one-to-one chat, or a group the bot is in
MAX_IMAGE_URL, MAX_ALT = 1000, 300


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
    # a group the bot was added to: `sender` is the group (where replies go), `author` the
    # member who wrote, `asked` whether they asked the bot (a mention, or /check as a reply)
    chat_kind: str = PRIVATE
    author: str | None = None
    asked: bool = False

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
        if self.chat_kind not in (PRIVATE, GROUP):
            raise InvalidText("the chat kind is unknown")
        if self.author is not None:
            identifier(self.author, MAX_SENDER, "the author id")
        fix = object.__setattr__
        fix(self, "asked", self.asked is True)
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

    @property
    def in_group(self) -> bool:
        return self.chat_kind == GROUP


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
class Image:
    """A picture to send with a message (a share card): a public http(s) URL the platform
    fetches, and the words it shows. `template_header` when WhatsApp's approved template for
    this message has an image header to carry it outside the 24-hour window."""

    url: str
    alt: str = ""
    template_header: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("https://", "http://")):
            raise InvalidText("an image must be an http(s) link")
        if len(self.url) > MAX_IMAGE_URL:
            raise InvalidText("the image link is too long")
        object.__setattr__(self, "alt", clean(str(self.alt))[:MAX_ALT])


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
    image: Image | None = None  # sent as a photo with `text` as its caption (when it fits)
    edits: str | None = None  # a platform message id: change that message instead (a correction)
    # only the template may go: the platform said the free-form copy arrived too late (131047)
    as_template: bool = False

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        if self.image is None:  # rows written before images existed look the same
            del data["image"]
        if self.edits is None:
            del data["edits"]
        return data

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OutboundMessage:
        data = dict(payload)
        data["buttons"] = tuple(Button(**b) for b in data.get("buttons", ()))
        data["template_params"] = tuple(data.get("template_params", ()))
        if data.get("image") is not None:
            data["image"] = Image(**data["image"])
        return cls(**data)

    def as_plain_text(self) -> str:
        """Buttons rendered as numbered lines and a picture as its link, for channels with
        neither."""
        body = f"{self.text}\n{self.image.url}" if self.image is not None else self.text
        if not self.buttons:
            return body
        lines = [
            b.label if b.label.startswith(f"{i}.") else f"{i}. {b.label}"
            for i, b in enumerate(self.buttons, start=1)
        ]
        return "\n".join([body, "", *lines])
