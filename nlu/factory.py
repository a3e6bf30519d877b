"""Choosing the parser from settings."""

from __future__ import annotations

from nlu.builtin import PARSE_CACHE_SIZE, BuiltinParser
from nlu.rasa_client import RasaParser
from nlu.types import IntentParser


def build_parser(
    rasa_url: str | None,
    rasa_token: str | None,
    timeout: float = 0.3,
    cache_size: int = PARSE_CACHE_SIZE,
) -> IntentParser:
    """Rasa (with the built-in as fallback) when a URL is set, else the built-in alone.

    The built-in parser trains here, in well under two seconds: call this once at start-up.
    """
    builtin = BuiltinParser(cache_size=cache_size)
    if not rasa_url:
        return builtin
    return RasaParser(rasa_url, rasa_token, fallback=builtin, timeout=timeout)
