"""What a button carries: small typed payloads, each with `encode` and `decode`, in one place.

Button data comes back from the platform and may be stale (an old message) or forged (any
client can send any callback data): `decode` accepts only the exact shapes below and returns
None for anything else, which the conversation answers with "this button has expired".
The wire forms are the ones earlier versions sent, so buttons already on residents' phones keep
working. Telegram allows 64 bytes of callback data; every payload here stays well under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

_ID = r"[1-9][0-9]{0,17}"
_WORD = r"[a-z_*]{1,20}"


class Action(StrEnum):
    """State-changing actions a guessed intent may only take after the resident confirms."""

    FORGET = "forget"
    STOP = "stop"
    SUBSCRIBE = "sub"
    UNSUBSCRIBE = "unsub"


@dataclass(frozen=True)
class Pick:
    """The resident picked suggested candidate `item_id` for request `request_id`."""

    request_id: int
    item_id: int
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"pick:({_ID}):({_ID})")

    def encode(self) -> str:
        return f"pick:{self.request_id}:{self.item_id}"

    @classmethod
    def decode(cls, data: str) -> Pick | None:
        found = cls.pattern.fullmatch(data)
        return cls(int(found[1]), int(found[2])) if found else None


@dataclass(frozen=True)
class NoneOfThese:
    """None of the suggested candidates is the resident's message: queue it for staff."""

    request_id: int
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"none:({_ID})")

    def encode(self) -> str:
        return f"none:{self.request_id}"

    @classmethod
    def decode(cls, data: str) -> NoneOfThese | None:
        found = cls.pattern.fullmatch(data)
        return cls(int(found[1])) if found else None


@dataclass(frozen=True)
class Feedback:
    """Was answer to request `request_id` helpful?"""

    request_id: int
    helpful: bool
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"fb:({_ID}):([01])")

    def encode(self) -> str:
        return f"fb:{self.request_id}:{int(self.helpful)}"

    @classmethod
    def decode(cls, data: str) -> Feedback | None:
        found = cls.pattern.fullmatch(data)
        return cls(int(found[1]), found[2] == "1") if found else None


@dataclass(frozen=True)
class ChooseLanguage:
    code: str
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"lang:([a-z]{2,3})")

    def encode(self) -> str:
        return f"lang:{self.code}"

    @classmethod
    def decode(cls, data: str) -> ChooseLanguage | None:
        found = cls.pattern.fullmatch(data)
        return cls(found[1]) if found else None


@dataclass(frozen=True)
class Subscribe:
    topic: str
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"sub:({_WORD})")

    def encode(self) -> str:
        return f"sub:{self.topic}"

    @classmethod
    def decode(cls, data: str) -> Subscribe | None:
        found = cls.pattern.fullmatch(data)
        return cls(found[1]) if found else None


@dataclass(frozen=True)
class Unsubscribe:
    topic: str  # a topic, or "*" for all
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"unsub:({_WORD})")

    def encode(self) -> str:
        return f"unsub:{self.topic}"

    @classmethod
    def decode(cls, data: str) -> Unsubscribe | None:
        found = cls.pattern.fullmatch(data)
        return cls(found[1]) if found else None


@dataclass(frozen=True)
class Confirm:
    """The answer to "are you sure?" for an action read from a resident's words."""

    action: Action
    yes: bool
    argument: str = ""  # the topic, for (un)subscribe
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"ok:(forget|stop|sub|unsub):([01])(?::({_WORD}))?"
    )

    def encode(self) -> str:
        tail = f":{self.argument}" if self.argument else ""
        return f"ok:{self.action.value}:{int(self.yes)}{tail}"

    @classmethod
    def decode(cls, data: str) -> Confirm | None:
        found = cls.pattern.fullmatch(data)
        return cls(Action(found[1]), found[2] == "1", found[3] or "") if found else None


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
