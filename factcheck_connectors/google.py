"""Google Fact Check Tools API, `claims:search`: periodic pulls by publisher site and language.

Request: GET .../v1alpha1/claims:search?query=&languageCode=&reviewPublisherSiteFilter=
&maxAgeDays=&pageSize=&pageToken=&key= (query is required unless the publisher filter is set).
Response: {"claims": [{"text", "claimant", "claimDate", "claimReview": [{"publisher": {"name",
"site"}, "url", "title", "reviewDate", "textualRating", "languageCode"}]}], "nextPageToken"}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from domain.knowledge import ItemData, parse_date
from domain.models import ItemKind, utcnow
from factcheck_connectors.base import (
    ConnectorContext,
    ConnectorSpec,
    FetchResult,
    SourceInvalid,
    get,
)
from factcheck_connectors.schema import verdict_from_rating


def items_from_response(data: Any, origin: str = "source") -> list[ItemData]:
    """One item per claimReview of every claim in a claims:search response."""
    if not isinstance(data, dict) or not isinstance(data.get("claims", []), list):
        raise SourceInvalid("the response is not a claims:search result")
    items = []
    for claim in data.get("claims") or []:
        text = str(claim.get("text") or "").strip() if isinstance(claim, dict) else ""
        if not text:
            continue
        for review in claim.get("claimReview") or []:
            if isinstance(review, dict) and (item := _item(text, claim, review, origin)):
                items.append(item)
    return items


def _item(text: str, claim: dict[str, Any], review: dict[str, Any], origin: str) -> ItemData | None:
    url = str(review.get("url") or "").strip()
    if not url:
        return None
    publisher = review.get("publisher") or {}
    claimant = str(claim.get("claimant") or "").strip()
    title = str(review.get("title") or "").strip()
    explanation = title or (f"Claim by {claimant}." if claimant else "")
    return ItemData(
        claim=text[:5000],
        verdict=verdict_from_rating(review.get("textualRating")).value,
        explanation=explanation[:5000],
        source_url=url[:2000],
        publisher=(publisher.get("name") or publisher.get("site") or None),
        published_at=parse_date(review.get("reviewDate") or claim.get("claimDate")),
        language=str(review.get("languageCode") or "en").split("-")[0][:10],
        kind=ItemKind.FACT_CHECK,
        origin=origin,
        external_id=url[:500],
    )


def search_params(
    query: str | None,
    language: str | None,
    site: str | None,
    max_age_days: int | None,
    page_size: int,
    key: str,
) -> dict[str, Any]:
    params: dict[str, Any] = {"key": key, "pageSize": page_size}
    for name, value in (
        ("query", query),
        ("languageCode", language),
        ("reviewPublisherSiteFilter", site),
        ("maxAgeDays", max_age_days),
    ):
        if value:
            params[name] = value
    return params


class GoogleFactCheck:
    kind = "google_factcheck"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind,
        "Google Fact Check Tools API",
        ("query", "publisher_site", "language", "max_age_days", "page_size", "max_pages"),
    )

    def __init__(self, context: ConnectorContext, config: Mapping[str, str]) -> None:
        if not context.google_api_key:
            raise SourceInvalid("set RUMOURBOT_GOOGLE_FACTCHECK_API_KEY to use Google Fact Check")
        self.key, self.url = context.google_api_key, context.google_url
        self.query = str(config.get("query") or "").strip() or None
        self.site = str(config.get("publisher_site") or "").strip() or None
        if not (self.query or self.site):
            raise SourceInvalid("a google_factcheck source needs 'query' or 'publisher_site'")
        self.language = str(config.get("language") or "").strip() or None
        self.max_age_days = _int(config, "max_age_days", 30)
        self.page_size = min(_int(config, "page_size", 100), 1000)
        self.max_pages = _int(config, "max_pages", 20)
        self.max_bytes = context.max_bytes

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> GoogleFactCheck:
        return cls(context, config)

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        started = utcnow()
        age = self._age_days(parse_date(cursor.get("since")), started)
        params = search_params(self.query, self.language, self.site, age, self.page_size, self.key)
        items: list[ItemData] = []
        for _page in range(self.max_pages):
            data = (
                await get(
                    client, self.url, params=params, max_bytes=self.max_bytes, echo_errors=True
                )
            ).json()
            items += items_from_response(data)
            token = data.get("nextPageToken")
            if not token:
                break
            params = {**params, "pageToken": token}
        return FetchResult(items, {"since": started.isoformat()})

    def _age_days(self, since: datetime | None, now: datetime) -> int:
        if since is None:
            return self.max_age_days
        return max(1, math.ceil((now - since).total_seconds() / 86400) + 1)


def _int(config: Mapping[str, str], key: str, default: int) -> int:
    raw = str(config.get(key) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SourceInvalid(f"'{key}' must be a positive whole number")
    return int(raw)
