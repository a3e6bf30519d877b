"""The checks every piece of outside text passes where it enters: one place for all edges.

- `clean` makes any string storable: lone surrogates (which JSON's `\\ud800` escapes produce and
  no database driver accepts) become U+FFFD, NUL characters (which PostgreSQL refuses) go.
- `http_url` accepts only absolute http(s) links: a `javascript:` or `data:` "source" would run
  in the browser of whoever clicks it.
- `identifier` checks a platform id's shape and length against the column it goes into.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL_IN_URL = re.compile(r"[\x00-\x20\x7f]")


class InvalidText(ValueError):
    """A value that cannot be accepted; the message says which and why (safe to show)."""


def clean(value: str) -> str:
    """`value` with lone surrogates replaced and NUL characters removed."""
    if _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value)
    return value.replace("\x00", "") if "\x00" in value else value


def clip(value: Any, limit: int) -> str | None:
    """A cleaned string at most `limit` characters long, or None for nothing."""
    if value is None:
        return None
    text = clean(str(value)).strip()[:limit].strip()
    return text or None


def http_url(value: Any, limit: int = 2000) -> str | None:
    """`value` when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    url = clean(value).strip()
    if not url or len(url) > limit or _CONTROL_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def identifier(value: Any, limit: int, what: str) -> str:
    """A platform identifier: a non-empty string of printable characters, at most `limit` long."""
    if not isinstance(value, str) or not value:
        raise InvalidText(f"{what} is missing")
    if len(value) > limit:
        raise InvalidText(f"{what} is longer than {limit} characters")
    if _SURROGATES.search(value) or not value.isprintable():
        raise InvalidText(f"{what} has characters that are not allowed")
    return value
