"""The message catalogue: every text residents see, per language, from `locales/*.json`.

Replies never contain exception text; a missing key falls back to English.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from domain.topics import TopicNames, city_topics

LOCALES = Path(__file__).with_name("locales")
FALLBACK = "en"
TOPICS = TopicNames()  # the city's topics (RUMOURBOT_TOPICS_FILE), see domain.topics
RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "ur"})


@lru_cache(maxsize=1)
def _catalogues() -> dict[str, dict[str, str]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(LOCALES.glob("*.json"))
    }


def languages() -> tuple[str, ...]:
    """Languages the catalogue covers, English first."""
    codes = sorted(_catalogues())
    return (FALLBACK, *[c for c in codes if c != FALLBACK])


def resolve_language(code: str | None, default: str = FALLBACK) -> str:
    """A catalogue language for `code` ("sw-KE" -> "sw"); `default` when not covered."""
    if code:
        base = code.split("-")[0].split("_")[0].lower()
        if base in _catalogues():
            return base
    return default if default in _catalogues() else FALLBACK


def text(key: str, language: str | None, **values: str) -> str:
    """The catalogue text for `key` in `language`, with `{placeholders}` filled."""
    catalogues = _catalogues()
    lang = resolve_language(language)
    template = catalogues[lang].get(key) or catalogues[FALLBACK][key]
    return template.format(**values) if values else template


def topic_label(topic: str, language: str | None) -> str:
    """The topics file's label in `language`, else the catalogue's, else its English label."""
    key, given = f"topic.{topic}", city_topics().labels.get(topic) or {}
    if resolve_language(language) in given:
        return given[resolve_language(language)]
    if key in _catalogues()[FALLBACK]:
        return text(key, language)
    return given.get(FALLBACK) or topic
