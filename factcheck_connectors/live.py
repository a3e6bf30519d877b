"""A live Google Fact Check lookup for a message that matched nothing locally.

    items = await live_lookup(services, text, language, budget_seconds=1.5)

Returns at most `limit` items (origin "source:google-live"), or [] when no API key is set, the
budget runs out, or Google fails: the resident is never kept waiting. Answers (including "no
result") are cached by normalised text and language, in Redis when `RUMOURBOT_REDIS_URL` is
set, else in this process. Nothing is written to the knowledge base: the caller decides.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.knowledge import ItemData, parse_date
from domain.models import ItemStatus, KnowledgeItem
from factcheck_connectors.base import ConnectorError, get
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.google import items_from_response, search_params
from factcheck_connectors.store import ingest
from matching.normalise import normalise_text

log = logging.getLogger(__name__)
ORIGIN = "source:google-live"


class Cache(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: float) -> None: ...


class MemoryCache:
    """A small TTL cache for one process (oldest entries go first when full)."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self.data: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> str | None:
        hit = self.data.get(key)
        if hit is None or hit[0] < time.monotonic():
            self.data.pop(key, None)
            return None
        return hit[1]

    async def set(self, key: str, value: str, ttl: float) -> None:
        if len(self.data) >= self.size:
            self.data.pop(next(iter(self.data)))
        self.data[key] = (time.monotonic() + ttl, value)


class RedisCache:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.client = redis.from_url(url)

    async def get(self, key: str) -> str | None:
        value = await self.client.get(key)
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self.client.set(key, value, ex=max(1, int(ttl)))


_caches: dict[str, Cache] = {}


def cache_for(services: ConnectorServices) -> Cache:
    url = services.settings.redis_url or ""
    if url not in _caches:
        _caches[url] = RedisCache(url) if url else MemoryCache()
    return _caches[url]


def _key(text: str, language: str | None) -> str:
    digest = hashlib.sha256(f"{language or ''}\n{normalise_text(text)}".encode()).hexdigest()
    return f"rumourbot:live:{digest[:40]}"


def _dump(items: list[ItemData]) -> str:
    rows = [
        {**asdict(i), "published_at": i.published_at.isoformat() if i.published_at else None}
        for i in items
    ]
    return json.dumps(rows)


def _load(raw: str) -> list[ItemData]:
    return [
        ItemData(**{**row, "published_at": parse_date(row.get("published_at"))})
        for row in json.loads(raw)
    ]


async def live_lookup(
    services: ConnectorServices,
    text: str,
    language: str | None = None,
    budget_seconds: float | None = None,
    *,
    limit: int = 5,
    client: httpx.AsyncClient | None = None,
) -> list[ItemData]:
    settings = services.settings
    key = settings.google_factcheck_api_key
    query = normalise_text(text)[:500]
    if key is None or len(query.split()) < 3:
        return []
    cache, cache_key = cache_for(services), _key(text, language)
    try:
        cached = await cache.get(cache_key)
    except Exception:  # a cache outage must not break the conversation
        log.warning("live lookup cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return _load(cached)
    budget = budget_seconds if budget_seconds is not None else settings.live_lookup_budget_seconds
    params = search_params(query, language, None, None, limit, key.get_secret_value())
    try:
        items = await asyncio.wait_for(
            _search(
                settings.google_factcheck_url, params, client, budget, settings.connector_max_bytes
            ),
            budget,
        )
    except (TimeoutError, ConnectorError, httpx.HTTPError) as exc:
        log.info("live lookup gave up: %s", type(exc).__name__)
        return []
    for item in items:
        item.origin = ORIGIN
    items = items[:limit]
    try:
        await cache.set(cache_key, _dump(items), settings.live_lookup_cache_seconds)
    except Exception:
        log.warning("live lookup cache unavailable", exc_info=True)
    return items


async def _search(
    url: str,
    params: dict[str, Any],
    client: httpx.AsyncClient | None,
    budget: float,
    max_bytes: int,
) -> list[ItemData]:
    if client is not None:
        return items_from_response(
            (await get(client, url, params=params, max_bytes=max_bytes)).json()
        )
    async with httpx.AsyncClient(timeout=budget) as own:
        return items_from_response((await get(own, url, params=params, max_bytes=max_bytes)).json())


async def find_and_store(services: ConnectorServices, session: AsyncSession, text: str,
                         language: str | None) -> list[KnowledgeItem]:
    """Live lookup for an unmatched message; what Google knows joins the knowledge base
    (so the next forward matches locally) and is returned for the resident to choose from."""
    items = await live_lookup(services, text, language)
    if not items:
        return []
    await ingest(session, ORIGIN, items)
    ids = [i.external_id for i in items if i.external_id]
    query = select(KnowledgeItem).where(KnowledgeItem.origin == ORIGIN,
                                        KnowledgeItem.external_id.in_(ids),
                                        KnowledgeItem.status == ItemStatus.ACTIVE)
    found = {row.external_id: row for row in (await session.scalars(query)).all()}
    return [found[i] for i in ids if i in found]
