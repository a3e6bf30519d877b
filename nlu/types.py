"""The vocabulary shared by every intent parser: intents, results and the parser Protocol."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "sw", "hi", "ar", "es", "id")


class Intent(enum.StrEnum):
    """What a resident wants. Anything the bot cannot place is a claim to check."""

    CHECK_CLAIM = "check_claim"
    GREET = "greet"
    THANKS = "thanks"
    HELP = "help"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    CHANGE_LANGUAGE = "change_language"
    FEEDBACK_POSITIVE = "feedback_positive"
    FEEDBACK_NEGATIVE = "feedback_negative"
    FORGET_ME = "forget_me"
    STOP = "stop"

    @classmethod
    def from_name(cls, name: str | None) -> Intent | None:
        """The intent called `name`, or None for names this product does not know."""
        try:
            return cls(name) if name else None
        except ValueError:
            return None


@dataclass(frozen=True)
class ParseResult:
    """One message's reading. `language` is the language detected for this text only."""

    intent: Intent
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    source: str = "builtin"


class IntentParser(Protocol):
    """Anything that turns a resident's text into a ParseResult, never raising."""

    async def parse(self, text: str) -> ParseResult: ...
