"""What a button carries: small typed payloads, each with `encode` and `decode`, in one place.

Button data comes back from the platform and may be stale (an old message) or forged (any
client can send any callback data): `decode` accepts only the exact shapes below and returns
None for anything else, which the conversation answers with "this button has expired".
The wire forms are the ones earlier versions sent, so buttons already on residents' phones keep
working. Telegram allows 64 bytes of callback data; every payload here stays well under.

A payload's wire form is its tag and then its fields in order, joined by ":" (`pick:12:34`).
Each payload class names its tag and, field by field, the pattern a field's text must match;
a field with a default may be left off the end (and is, when it holds an empty string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar, Self, get_type_hints

_ID = r"[1-9][0-9]{0,17}"
_WORD = r"[a-z_*]{1,20}"
_FLAG = r"[01]"


class Action(StrEnum):
    """State-changing actions a guessed intent may only take after the resident confirms."""

    FORGET = "forget"
    STOP = "stop"
    SUBSCRIBE = "sub"
    UNSUBSCRIBE = "unsub"


def _to_wire(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _from_wire(kind: type, text: str) -> Any:
    if kind is bool:
        return text == "1"
    return kind(text)


class _Payload:
    """The encode/decode every payload shares; a subclass gives `tag` and `shapes`."""

    tag: ClassVar[str]
    shapes: ClassVar[tuple[str, ...]]  # one pattern per field, in field order
    _pattern: ClassVar[re.Pattern[str]]
    _kinds: ClassVar[tuple[tuple[str, type], ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "tag" not in vars(cls):
            return  # a base for payloads of one shape (`_Topic`)
        hints = get_type_hints(cls)
        names = [name for name in hints if name not in _Payload.__annotations__]
        cls._kinds = tuple((name, hints[name]) for name in names)
        wire = re.escape(cls.tag)
        for name, shape in zip(names, cls.shapes, strict=True):
            optional = hasattr(cls, name)  # the field has a default
            wire += f"(?::({shape}))?" if optional else f":({shape})"
        cls._pattern = re.compile(wire)

    def encode(self) -> str:
        parts = [self.tag, *(_to_wire(getattr(self, name)) for name, _ in self._kinds)]
        while parts[-1] == "":
            parts.pop()
        return ":".join(parts)

    @classmethod
    def decode(cls, data: str) -> Self | None:
        found = cls._pattern.fullmatch(data)
        if found is None:
            return None
        values = {
            name: _from_wire(kind, text)
            for (name, kind), text in zip(cls._kinds, found.groups(), strict=True)
            if text is not None
        }
        return cls(**values)


@dataclass(frozen=True)
class Pick(_Payload):
    """The resident picked suggested candidate `item_id` for request `request_id`."""

    tag = "pick"
    shapes = (_ID, _ID)
    request_id: int
    item_id: int


@dataclass(frozen=True)
class NoneOfThese(_Payload):
    """None of the suggested candidates is the resident's message: queue it for staff."""

    tag = "none"
    shapes = (_ID,)
    request_id: int


@dataclass(frozen=True)
class Feedback(_Payload):
    """Was answer to request `request_id` helpful?"""

    tag = "fb"
    shapes = (_ID, _FLAG)
    request_id: int
    helpful: bool


@dataclass(frozen=True)
class ChooseLanguage(_Payload):
    tag = "lang"
    shapes = (r"[a-z]{2,3}",)
    code: str


@dataclass(frozen=True)
class _Topic(_Payload):
    shapes = (_WORD,)
    topic: str  # a topic; for Unsubscribe, "*" for all


@dataclass(frozen=True)
class Subscribe(_Topic):
    tag = "sub"


@dataclass(frozen=True)
class Unsubscribe(_Topic):
    tag = "unsub"


@dataclass(frozen=True)
class Confirm(_Payload):
    """The answer to "are you sure?" for an action read from a resident's words."""

    tag = "ok"
    shapes = ("|".join(action.value for action in Action), _FLAG, _WORD)
    action: Action
    yes: bool
    argument: str = ""  # the topic, for (un)subscribe


Payload = Pick | NoneOfThese | Feedback | ChooseLanguage | Subscribe | Unsubscribe | Confirm
KINDS: tuple[type[Payload], ...] = (
    Pick,
    NoneOfThese,
    Feedback,
    ChooseLanguage,
    Subscribe,
    Unsubscribe,
    Confirm,
)
MAX_DATA = 64


def decode(data: str | None) -> Payload | None:
    """The payload `data` encodes, or None when it is not one this version understands."""
    if not data or len(data) > MAX_DATA:
        return None
    for kind in KINDS:
        payload = kind.decode(data)
        if payload is not None:
            return payload
    return None
