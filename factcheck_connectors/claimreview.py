"""ClaimReview sources: fact-check article pages (JSON-LD or microdata) and ClaimReview feeds."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import extruct
import httpx
import lxml.etree
import lxml.html

from domain.knowledge import ItemData
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
from factcheck_connectors.schema import find_claim_reviews, item_from_claim_review

log = logging.getLogger(__name__)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def json_ld_blocks(html: bytes | str) -> tuple[list[Any], int]:
    """Parsed JSON-LD blocks of a page, and how many were malformed (skipped, not fatal)."""
    try:
        doc = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return [], 0
    blocks: list[Any] = []
    bad = 0
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip().removeprefix("<![CDATA[").removesuffix("]]>")
        for attempt in (raw, _TRAILING_COMMA.sub(r"\1", raw)):
            try:
                blocks.append(json.loads(attempt))
                break
            except ValueError:
                continue
        else:
            bad += 1
    return blocks, bad


def microdata(html: bytes | str, url: str) -> list[Any]:
    try:
        data = extruct.extract(
            html, base_url=url, syntaxes=["microdata"], uniform=True, errors="ignore"
        )
    except (ValueError, lxml.etree.ParserError):
        return []
    return list(data.get("microdata") or [])


def reviews_in_page(html: bytes, url: str) -> tuple[list[dict[str, Any]], int]:
    blocks, bad = json_ld_blocks(html)
    found = list(find_claim_reviews(blocks)) + list(find_claim_reviews(microdata(html, url)))
    for review in found:
        review.setdefault("url", url)
    return found, bad


class ClaimReviewPage:
    """One or more fact-check article pages; each is fetched conditionally."""

    kind = "claimreview_page"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind,
        "Fact-check pages (ClaimReview markup)",
        ("urls", "language", "publisher"),
        required=("urls",),
    )

    def __init__(
        self, urls: list[str], language: str, publisher: str | None, max_bytes: int
    ) -> None:
        self.urls, self.language, self.publisher, self.max_bytes = (
            urls,
            language,
            publisher,
            max_bytes,
        )
        self.origin = "source"

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> ClaimReviewPage:
        urls = [u for u in re.split(r"[\s,]+", str(config.get("urls") or "")) if u]
        if not urls:
            raise SourceInvalid("a claimreview_page source needs 'urls' (one or more page URLs)")
        for url in urls:
            need_url({"urls": url}, "urls", cls.kind)
        return cls(
            urls, config.get("language") or "en", config.get("publisher") or None, context.max_bytes
        )

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        pages: dict[str, Any] = dict(cursor.get("pages") or {})
        items: list[ItemData] = []
        problems: list[str] = []
        for url in self.urls:
            state = pages.get(url) or {}
            fetched = await get(
                client, url, headers=conditional_headers(state), max_bytes=self.max_bytes
            )
            if fetched.not_modified:
                continue
            reviews, bad = reviews_in_page(fetched.body, url)
            if bad:
                log.warning("%s: skipped %d malformed JSON-LD block(s)", url, bad)
            page_items = [i for r in reviews if (i := self._item(r)) is not None]
            if not page_items:
                problems.append(
                    f"no ClaimReview markup found on {url}"
                    + (f" ({bad} malformed JSON-LD block(s))" if bad else "")
                )
                continue
            items += page_items
            pages[url] = validators(fetched)
        if problems and len(problems) == len(self.urls):
            raise SourceInvalid("; ".join(problems))
        return FetchResult(items, {"pages": pages})

    def _item(self, review: dict[str, Any]) -> ItemData | None:
        return item_from_claim_review(review, self.origin, self.language, self.publisher)


class ClaimReviewFeed:
    """A JSON document listing ClaimReview objects (a list, an @graph or a schema.org DataFeed)."""

    kind = "claimreview_feed"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind, "ClaimReview feed (JSON)", ("url", "language", "publisher"), required=("url",)
    )

    def __init__(self, url: str, language: str, publisher: str | None, max_bytes: int) -> None:
        self.url, self.language, self.publisher, self.max_bytes = (
            url,
            language,
            publisher,
            max_bytes,
        )
        self.origin = "source"

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> ClaimReviewFeed:
        return cls(
            need_url(config, "url", cls.kind),
            config.get("language") or "en",
            config.get("publisher") or None,
            context.max_bytes,
        )

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        fetched = await get(
            client, self.url, headers=conditional_headers(cursor), max_bytes=self.max_bytes
        )
        if fetched.not_modified:
            return FetchResult([], cursor)
        digest = hashlib.sha256(fetched.body).hexdigest()
        new_cursor = {**validators(fetched), "digest": digest}
        if digest == cursor.get("digest"):
            return FetchResult([], new_cursor)
        data = fetched.json()
        reviews = list(find_claim_reviews(data))
        if not reviews and not _empty_feed(data):
            raise SourceInvalid(f"{self.url} holds no ClaimReview objects")
        items = [
            i
            for r in reviews
            if (i := item_from_claim_review(r, self.origin, self.language, self.publisher))
        ]
        return FetchResult(items, new_cursor)


def _empty_feed(data: Any) -> bool:
    if data == []:
        return True
    return isinstance(data, dict) and any(data.get(k) == [] for k in ("dataFeedElement", "@graph"))
