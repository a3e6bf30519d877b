"""Wake-ups through Redis ("a reply was queued", "a photo was queued") reach the processes of
the same deployment only: pub/sub is shared by every database of a Redis server, and two
deployments on one server (a city's staging beside production, the two test suites of
`make test`) must not wake each other's workers for nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from domain.wakeups import Wakeup
from tests.conftest import SHARED_REDIS_URL

pytestmark = pytest.mark.redis
OTHER_DEPLOYMENT_URL = SHARED_REDIS_URL.rsplit("/", 1)[0] + "/12"


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Redis, Redis]]:
    ours, theirs = Redis.from_url(SHARED_REDIS_URL), Redis.from_url(OTHER_DEPLOYMENT_URL)
    yield ours, theirs
    await ours.aclose()
    await theirs.aclose()


async def _woken(listener: Wakeup, within: float) -> bool:
    try:
        await asyncio.wait_for(listener.event.wait(), within)
    except TimeoutError:
        return False
    return True


async def _queued_by_a_web(wakeup: Wakeup) -> None:
    wakeup.set()
    await wakeup.published()


@pytest.mark.parametrize("name", ["outbox", "media"])
async def test_a_wake_up_reaches_this_deployments_worker_and_not_anothers(
    clients: tuple[Redis, Redis], name: str
) -> None:
    ours, theirs = clients
    worker = Wakeup(name, ours)
    stop = asyncio.Event()
    listening = asyncio.create_task(worker.listen(stop))
    try:
        await asyncio.sleep(0.3)  # subscribed
        await _queued_by_a_web(Wakeup(name, theirs))  # another deployment
        assert not await _woken(worker, 0.5)
        await _queued_by_a_web(Wakeup("media" if name == "outbox" else "outbox", ours))
        assert not await _woken(worker, 0.3)  # the other kind of work
        await _queued_by_a_web(Wakeup(name, ours))  # a web of ours
        assert await _woken(worker, 2.0)
    finally:
        stop.set()
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_without_redis_a_wake_up_is_local() -> None:
    wakeup = Wakeup("outbox")
    wakeup.set()
    await wakeup.published()
    assert wakeup.event.is_set()
    stop = asyncio.Event()
    await asyncio.wait_for(wakeup.listen(stop), 1.0)  # nothing to listen to: returns at once
