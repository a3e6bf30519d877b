"""What a button carries: small typed payloads, each with `encode` and `decode`, in one place.

Button data comes back from the platform and may be stale (an old message) or forged (any
client can send any callback data): `decode` accepts only the exact shapes below and returns
None for anything else, which the conversation answers with "this button has expired".
The wire forms are the ones earlier versions sent, so buttons already on residents' phones keep
working. Telegram allows 64 bytes of callback data; every payload here stays well under.

A payload's wire form is its tag and then its fields in order, joined by ":" (`pick:12:34`).
Each payload class names its tag in its class line, and each field's annotation carries the
pattern the field's text must match; a field with a default may be left off the end (and is,
when it holds an empty string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Annotated, Any, ClassVar, Self, get_args, get_origin, get_type_hints


class Action(StrEnum):
    """State-changing actions a guessed intent may only take after the resident confirms."""

    FORGET = "forget"
    STOP = "stop"
    SUBSCRIBE = "sub"
    UNSUBSCRIBE = "unsub"


_Id = Annotated[int, r"[1-9][0-9]{0,17}"]
_Word = Annotated[str, r"[a-z_*]{1,20}"]
_Flag = Annotated[bool, r"[01]"]
_ActionName = Annotated[Action, "|".join(action.value for action in Action)]


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
    """The encode/decode every payload shares; a subclass gives its `tag` (`tag="pick"` in its
    class line) and annotates each field `Annotated[type, pattern]`."""

    tag: ClassVar[str]
    _pattern: ClassVar[re.Pattern[str]]
    _kinds: ClassVar[tuple[tuple[str, type], ...]]

    def __init_subclass__(cls, tag: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not tag:
            return  # a base for payloads that share fields (`_AboutRequest`, `_Topic`)
        cls.tag = tag
        wire, kinds = re.escape(tag), []
        for name, hint in get_type_hints(cls, include_extras=True).items():
            if name in _Payload.__annotations__:
                continue
            if get_origin(hint) is not Annotated:
                raise TypeError(f"{cls.__name__}.{name} has no wire pattern")
            kind, shape = get_args(hint)
            kinds.append((name, kind))
            optional = hasattr(cls, name)  # the field has a default
            wire += f"(?::({shape}))?" if optional else f":({shape})"
        cls._kinds = tuple(kinds)
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
class _AboutRequest(_Payload):
    request_id: _Id  # the request whose reply carried the button


@dataclass(frozen=True)
class Pick(_AboutRequest, tag="pick"):
    """The resident picked suggested candidate `item_id` for request `request_id`."""

    item_id: _Id


@dataclass(frozen=True)
class NoneOfThese(_AboutRequest, tag="none"):
    """None of the suggested candidates is the resident's message: queue it for staff."""


@dataclass(frozen=True)
class Feedback(_AboutRequest, tag="fb"):
    """Was answer to request `request_id` helpful?"""

    helpful: _Flag


@dataclass(frozen=True)
class ChooseLanguage(_Payload, tag="lang"):
    code: Annotated[str, r"[a-z]{2,3}"]


@dataclass(frozen=True)
class _Topic(_Payload):
    topic: _Word  # a topic; for Unsubscribe, "*" for all


@dataclass(frozen=True)
class Subscribe(_Topic, tag="sub"):
    """Send the resident broadcasts on `topic`."""


@dataclass(frozen=True)
class Unsubscribe(_Topic, tag="unsub"):
    """Stop broadcasts on `topic` ("*": all of them)."""


@dataclass(frozen=True)
class Confirm(_Payload, tag="ok"):
    """The answer to "are you sure?" for an action read from a resident's words."""

    action: _ActionName
    yes: _Flag
    argument: _Word = ""  # the topic, for (un)subscribe


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
