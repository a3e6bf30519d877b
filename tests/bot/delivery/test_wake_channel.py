"""Outbox wake-ups through Redis reach the workers of the same deployment only: pub/sub is
shared by every database of a Redis server, and two deployments on one server (a city's
staging beside production, the two test suites of `make test`) must not wake each other's
workers for nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.delivery.dispatcher import OutboxDispatcher
from domain.db import Database
from tests.conftest import SHARED_REDIS_URL

pytestmark = pytest.mark.redis
OTHER_DEPLOYMENT_URL = SHARED_REDIS_URL.rsplit("/", 1)[0] + "/12"


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Redis, Redis]]:
    ours, theirs = Redis.from_url(SHARED_REDIS_URL), Redis.from_url(OTHER_DEPLOYMENT_URL)
    yield ours, theirs
    await ours.aclose()
    await theirs.aclose()


async def _web_queues_a_message(web: OutboxDispatcher) -> None:
    web.wake()
    await asyncio.gather(*web._publishes)


async def _woken(dispatcher: OutboxDispatcher, within: float) -> bool:
    try:
        await asyncio.wait_for(dispatcher._wake.wait(), within)
    except TimeoutError:
        return False
    return True


async def test_a_wake_up_reaches_this_deployments_worker_and_not_anothers(
    database: Database, clients: tuple[Redis, Redis]
) -> None:
    ours, theirs = clients
    worker = OutboxDispatcher(database, redis=ours)
    stop = asyncio.Event()
    listening = asyncio.create_task(worker._listen(stop))
    try:
        await asyncio.sleep(0.3)  # subscribed
        await _web_queues_a_message(OutboxDispatcher(database, redis=theirs))  # another deployment
        assert not await _woken(worker, 0.5)
        await _web_queues_a_message(OutboxDispatcher(database, redis=ours))  # a web of ours
        assert await _woken(worker, 2.0)
    finally:
        stop.set()
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
