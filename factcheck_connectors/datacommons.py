"""Data Commons' open ClaimReview feed: a schema.org DataFeed gathering fact-checkers' markup.

Documented at https://datacommons.org/factcheck/download; the payload is
`{"@type": "DataFeed", "dataFeedElement": [{"@type": "DataFeedItem", "item": [ClaimReview...]}]}`.
No key is needed. The feed is large and multilingual, so a source can keep only some languages
and only recent reviews.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from domain.models import utcnow
from factcheck_connectors.base import ConnectorContext, ConnectorSpec, FetchResult, SourceInvalid
from factcheck_connectors.claimreview import ClaimReviewFeed

FEED_URL = "https://storage.googleapis.com/datacommons-feeds/claimreview/latest/data.json"


class DataCommonsFeed(ClaimReviewFeed):
    kind = "datacommons"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind, "Data Commons ClaimReview feed", ("url", "languages", "max_age_days")
    )

    def __init__(
        self, url: str, languages: set[str], max_age_days: int | None, max_bytes: int
    ) -> None:
        super().__init__(url, "en", None, max_bytes)
        self.languages, self.max_age_days = languages, max_age_days

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> DataCommonsFeed:
        url = str(config.get("url") or FEED_URL)
        if not url.startswith(("http://", "https://")):
            raise SourceInvalid("'url' must start with http:// or https://")
        languages = {
            x.strip().lower() for x in str(config.get("languages") or "").split(",") if x.strip()
        }
        raw_age = str(config.get("max_age_days") or "").strip()
        if raw_age and not raw_age.isdigit():
            raise SourceInvalid("'max_age_days' must be a whole number of days")
        return cls(url, languages, int(raw_age) if raw_age else None, context.max_bytes)

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        result = await super().fetch(client, cursor)
        oldest = utcnow() - timedelta(days=self.max_age_days) if self.max_age_days else None
        items = [
            i
            for i in result.items
            if (not self.languages or i.language in self.languages)
            and (oldest is None or (i.published_at is not None and i.published_at >= oldest))
        ]
        return FetchResult(items, result.cursor)
