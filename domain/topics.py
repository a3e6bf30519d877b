"""The city's topics: configuration, not code.

`RUMOURBOT_TOPICS_FILE` names a TOML file; without it the six built-in topics are used (their
labels come from the message catalogue). Either a plain list::

    topics = ["water", "health", "floods"]

or one table per topic with its label per language (a language without a label falls back to
the catalogue's, then to English, then to the name)::

    [topics.floods]
    en = "Floods"
    sw = "Mafuriko"

Imports (CLI, connectors, push API) with a topic outside this list are refused.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

DEFAULT_TOPICS = ("water", "health", "elections", "security", "scams", "transport")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_TOPICS = 100


class TopicsInvalid(ValueError):
    """The topics file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Topics:
    names: tuple[str, ...]
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # topic -> lang -> label

    def __contains__(self, topic: object) -> bool:
        return topic in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def find(self, raw: str | None) -> str | None:
        """The topic a free-text tag names ("Water " -> "water"), or None."""
        value = (raw or "").strip().lower()
        return value if value in self.names else None

    def unknown_message(self, topic: str) -> str:
        return f"unknown topic {topic[:50]!r}; this city's topics are: {', '.join(self.names)}"


def parse(data: dict[str, Any], where: str = "topics file") -> Topics:
    raw = data.get("topics")
    if isinstance(raw, list):
        entries: dict[str, Any] = {str(name): {} for name in raw}
    elif isinstance(raw, dict):
        entries = raw
    else:
        raise TopicsInvalid(f"{where}: expected `topics = [...]` or `[topics.NAME]` tables")
    if not entries or len(entries) > MAX_TOPICS:
        raise TopicsInvalid(f"{where}: give between 1 and {MAX_TOPICS} topics")
    labels: dict[str, dict[str, str]] = {}
    for name, given in entries.items():
        if not NAME_RE.match(name):
            raise TopicsInvalid(
                f"{where}: topic {name[:50]!r} must be lowercase letters, digits, '-' or '_'"
            )
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise TopicsInvalid(f'{where}: the labels of {name!r} must be `language = "text"`')
        labels[name] = {str(k)[:10]: v.strip()[:100] for k, v in given.items() if v.strip()}
    return Topics(tuple(entries), labels)


def load(path: str | None) -> Topics:
    """The topics of `path`, or the built-in six when no file is configured."""
    if not path:
        return Topics(DEFAULT_TOPICS)
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopicsInvalid(f"{path}: cannot be read ({type(exc).__name__})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TopicsInvalid(f"{path}: {exc}") from exc
    return parse(data, str(path))


_current: Topics | None = None


def city_topics() -> Topics:
    """The process's topics, read once from the settings' topics file."""
    global _current
    if _current is None:
        from domain.settings import get_settings

        _current = load(get_settings().topics_file)
    return _current


def use_topics(topics: Topics | None) -> None:
    """Replace the process's topics (a process built from other settings, and tests);
    None reads the settings again on next use."""
    global _current
    _current = topics


class TopicNames(Sequence[str]):
    """A live view of the city's topic names, for code that iterates or tests membership."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return city_topics().names[index]

    def __len__(self) -> int:
        return len(city_topics().names)

    def __contains__(self, topic: object) -> bool:
        return topic in city_topics().names

    def __iter__(self) -> Iterator[str]:
        return iter(city_topics().names)

    def __repr__(self) -> str:
        return f"TopicNames({city_topics().names!r})"
