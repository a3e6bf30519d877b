"""Outbox delivery: priority, per-chat order, platform pacing, shared limits through Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from bot.channels.collecting import CollectingChannel
from bot.delivery.dispatcher import OutboxDispatcher
from bot.delivery.ratelimit import ChannelLimits, LocalRateLimiter, RedisRateLimiter
from domain.db import Database
from domain.messages import OutboundMessage
from domain.models import OutboxKind
from domain.outbox import enqueue
from domain.residents import resident_for

REDIS_URL = "redis://127.0.0.1:6379/0"


async def queue(db: Database, chat: str, texts: list[str], kind: OutboxKind) -> None:
    async with db.session() as session:
        resident = await resident_for(session, "telegram", chat)
        for text in texts:
            key = f"{kind}:{chat}:{text}" if kind != OutboxKind.REPLY else None
            await enqueue(session, resident, OutboundMessage(chat, text), kind, key)


async def test_local_limiter_paces_reservations() -> None:
    limiter = LocalRateLimiter()
    waits = [await limiter.acquire("k", rate=10, burst=1, reserve=True) for _ in range(5)]
    assert waits[0] == 0 and waits[-1] == pytest.approx(0.4, abs=0.05)


@pytest.mark.redis
async def test_redis_limiter_is_shared_by_processes() -> None:
    key = f"test:{uuid.uuid4().hex}"
    first, second = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    try:
        a, b = RedisRateLimiter(first), RedisRateLimiter(second)
        waits = [
            await (a if n % 2 else b).acquire(key, rate=10, burst=1, reserve=True) for n in range(6)
        ]
        assert waits[0] == 0
        assert waits[-1] == pytest.approx(0.5, abs=0.08)  # one bucket, whoever asks
        # without reserving, a busy bucket hands out nothing and books nothing
        assert await a.acquire(key, rate=10, burst=1, reserve=False) > 0
    finally:
        await first.aclose()
        await second.aclose()


async def test_replies_go_ahead_of_a_broadcast_and_pacing_holds(database: Database) -> None:
    channel = CollectingChannel("telegram")
    dispatcher = OutboxDispatcher(
        database, {"telegram": channel}, limits={"telegram": ChannelLimits(per_second=40)}
    )
    await queue(database, "b", [f"news {n}" for n in range(39)], OutboxKind.BROADCAST)
    for n in range(40):
        await queue(database, f"s{n}", ["news"], OutboxKind.BROADCAST)
    await queue(database, "r", ["your answer"], OutboxKind.REPLY)
    started = time.monotonic()
    while await dispatcher.drain_once():
        pass
    elapsed = time.monotonic() - started
    everything = [m for msgs in channel.sent.values() for m in msgs]
    assert len(everything) == 80
    assert channel.sent["r"][0].text == "your answer"
    assert [m.text for m in channel.sent["b"]] == [f"news {n}" for n in range(39)]  # in order
    assert elapsed >= 79 / 40 * 0.9  # never faster than the platform allows


async def test_a_busy_chat_is_deferred_not_blocking(database: Database) -> None:
    channel = CollectingChannel("telegram")
    dispatcher = OutboxDispatcher(
        database,
        {"telegram": channel},
        limits={
            "telegram": ChannelLimits(per_second=1000, per_chat_per_second=5, per_chat_burst=1)
        },
    )
    await queue(database, "busy", ["1", "2", "3"], OutboxKind.REPLY)
    await queue(database, "other", ["x"], OutboxKind.REPLY)
    await dispatcher.drain_once()
    assert [m.text for m in channel.sent["busy"]] == ["1"]
    assert [m.text for m in channel.sent["other"]] == ["x"]
    for _ in range(50):
        await asyncio.sleep(0.1)
        await dispatcher.drain_once()
        if len(channel.sent["busy"]) == 3:
            break
    assert [m.text for m in channel.sent["busy"]] == ["1", "2", "3"]
