"""Decisions shared between processes through Redis: taken by the other process, and never
used once the knowledge base changed (a retired fact-check is not answered from the cache)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.conversation.indexes import KnowledgeIndex, SharedDecisions
from domain.db import Database
from domain.knowledge import ItemData, retire_item, upsert_item
from matching import MatchingEngine, Outcome, build_embedder
from tests.conftest import SHARED_REDIS_URL

pytestmark = pytest.mark.redis
REDIS_URL = SHARED_REDIS_URL
CLAIM = "The city will cut off all water supply for two weeks from Monday"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await _clear(client)
    yield client
    await _clear(client)
    await client.aclose()


async def _clear(client: Redis) -> None:
    keys = [k async for k in client.scan_iter(match=SharedDecisions.PREFIX + "*")]
    if keys:
        await client.delete(*keys)


def _process(database: Database, redis: Redis) -> KnowledgeIndex:
    """One process's knowledge index (each process has its own engine and local cache)."""
    index = KnowledgeIndex(database, MatchingEngine(embedder=build_embedder("hashing")))
    index.configure_decisions(100, redis, seconds=60)
    return index


async def test_a_decision_is_shared_and_a_retired_item_is_not_answered(
    database: Database, redis: Redis
) -> None:
    async with database.session() as session:
        item, _ = await upsert_item(session, ItemData(claim=CLAIM, verdict="false"))
    web1, web2 = _process(database, redis), _process(database, redis)
    await web1.refresh()
    await web2.refresh()

    first = await web1.decide(CLAIM, "en")
    assert first.outcome == Outcome.ANSWER and first.candidates[0].id == str(item.id)
    keys = [k async for k in redis.scan_iter(match=SharedDecisions.PREFIX + "*")]
    assert len(keys) == 1 and await redis.hlen(keys[0]) == 1  # one text, one entry
    assert 0 < await redis.ttl(keys[0]) <= 60
    assert await web2.decide(CLAIM, "en") == first  # the other process takes it

    async with database.session() as session:
        await retire_item(session, item.id)
    await web1.refresh()
    await web2.refresh()
    for process in (web1, web2):  # the shared answer is for the old knowledge base only
        decision = await process.decide(CLAIM, "en")
        assert decision.outcome != Outcome.ANSWER
        assert all(c.id != str(item.id) for c in decision.candidates)


async def test_the_shared_set_is_bounded(database: Database, redis: Redis) -> None:
    index = KnowledgeIndex(database, MatchingEngine(embedder=build_embedder("hashing")))
    index.configure_decisions(3, redis, seconds=60)
    await index.refresh()
    for n in range(6):
        await index.decide(f"rumour number {n} about the market closing", "en")
    (key,) = [k async for k in redis.scan_iter(match=SharedDecisions.PREFIX + "*")]
    assert await redis.hlen(key) == 3
