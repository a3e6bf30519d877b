"""What each signal reads from a fact-check or a message (one place, so caches stay valid)."""

from __future__ import annotations

from matching.normalise import clean_text

__all__ = ["passage_text", "query_text"]


def passage_text(text: str, title: str | None = None) -> str:
    """Claim first, then the article title when it adds words (Snopes titles are questions)."""
    body = clean_text(text)
    head = clean_text(title) if title else ""
    if head and head.casefold() not in body.casefold():
        return f"{body} | {head}" if body else head
    return body


def query_text(text: str) -> str:
    return clean_text(text)
