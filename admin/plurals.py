"""Counts with the right word: "1 resident", "2 residents" (the panel speaks English)."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`count` followed by `singular` or `many` (default: singular + "s")."""
    word = singular if count == 1 else (many if many is not None else singular + "s")
    return f"{count} {word}"
