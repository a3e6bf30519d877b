"""A process's Redis connections are bounded: redis-py's default pool keeps every connection
it ever opened, so descriptors grew with each new peak of commands at once."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.runtime.wiring import redis_client
from domain.settings import Settings
from tests.faults.processes import RedisServer


async def test_commands_beyond_the_cap_wait_for_a_connection(redis_server: RedisServer) -> None:
    settings = Settings(_env_file=None, redis_url=redis_server.url, redis_max_connections=4)  # type: ignore[call-arg]
    client = redis_client(settings)
    assert client is not None
    observer = Redis.from_url(redis_server.url)
    try:
        # 30 commands at once, each holding its connection for 50 ms (a burst of webhooks)
        results = await asyncio.gather(*(client.blpop([f"empty:{n}"], 0.05) for n in range(30)))
        assert results == [None] * 30
        clients = (await observer.info("clients"))["connected_clients"]
        assert clients - 1 <= 4, f"{clients - 1} connections kept for a cap of 4"
    finally:
        await client.aclose()
        await observer.aclose()


def test_without_redis_there_is_no_client() -> None:
    assert redis_client(Settings(_env_file=None)) is None  # type: ignore[call-arg]
