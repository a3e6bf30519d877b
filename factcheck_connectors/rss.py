"""City statements from RSS and Atom feeds of press releases, fetched conditionally.

Only entries that are new or changed since the cursor are emitted (the cursor keeps a short
digest per entry id, plus the ETag / Last-Modified validators for the next conditional GET).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser
import httpx

from domain.knowledge import ItemData, parse_verdict
from domain.models import ItemKind
from domain.topics import city_topics
from factcheck_connectors.base import (
    ConnectorContext,
    ConnectorSpec,
    FetchResult,
    SourceInvalid,
    conditional_headers,
    get,
    need_url,
    validators,
)

_TAGS = re.compile(r"<[^>]+>")
MAX_SEEN = 2000


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAGS.sub(" ", text or ""))).strip()


def entry_date(entry: Any) -> datetime | None:
    """The entry's published (else updated) time; None for a date feedparser could not read."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = dict.get(entry, key)  # plain lookup: no feedparser "issue 310" fallback warning
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


class RssFeed:
    kind = "rss"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind,
        "RSS / Atom feed of statements",
        ("url", "language", "topic", "verdict", "publisher"),
        required=("url",),
    )

    def __init__(self, url: str, config: Mapping[str, str], max_bytes: int) -> None:
        self.url, self.max_bytes = url, max_bytes
        self.language = str(config.get("language") or "").strip() or None
        self.topic = str(config.get("topic") or "").strip() or None
        self.verdict = parse_verdict(str(config.get("verdict") or "true")).value
        self.publisher = str(config.get("publisher") or "").strip() or None

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> RssFeed:
        return cls(need_url(config, "url", cls.kind), config, context.max_bytes)

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        fetched = await get(
            client, self.url, headers=conditional_headers(cursor), max_bytes=self.max_bytes
        )
        if fetched.not_modified:
            return FetchResult([], cursor)
        feed = feedparser.parse(fetched.body, response_headers=dict(fetched.headers))
        if not feed.get("version") and not feed.entries:
            raise SourceInvalid(f"{self.url} is not an RSS or Atom feed")
        seen: dict[str, str] = dict(cursor.get("seen") or {})
        language = self.language or str(feed.feed.get("language") or "en").split("-")[0].lower()
        publisher = self.publisher or strip_html(feed.feed.get("title") or "") or None
        items = []
        for entry in feed.entries:
            item = self._item(entry, language, publisher)
            if item is None or item.external_id is None:
                continue
            digest = hashlib.sha256(f"{item.claim}\n{item.explanation}".encode()).hexdigest()[:16]
            if seen.get(item.external_id) != digest:
                items.append(item)
                seen[item.external_id] = digest
        kept = dict(list(seen.items())[-MAX_SEEN:])
        return FetchResult(items, {**validators(fetched), "seen": kept})

    def _item(self, entry: Any, language: str, publisher: str | None) -> ItemData | None:
        title = strip_html(entry.get("title") or "")
        body = strip_html(entry.get("summary") or "")
        if not body and entry.get("content"):
            body = strip_html(entry["content"][0].get("value") or "")
        claim = title or body[:300]
        link = entry.get("link") or None
        external = (
            entry.get("id")
            or link
            or (hashlib.sha256(claim.encode()).hexdigest()[:32] if claim else None)
        )
        if not claim:
            return None
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        return ItemData(
            claim=claim[:5000],
            verdict=self.verdict,
            explanation=(body or title)[:5000],
            source_url=link[:2000] if link else None,
            publisher=publisher,
            published_at=entry_date(entry),
            language=language[:10],
            topic=self.topic or city_topics().find(tags[0] if tags else None),
            kind=ItemKind.STATEMENT,
            origin="source",
            external_id=str(external)[:500],
        )
