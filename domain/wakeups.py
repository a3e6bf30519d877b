"""Wake-ups between processes: "something was queued, look now" instead of the next poll.

A `Wakeup` is an event in this process and, with Redis, a pub/sub channel that every process of
the deployment listens on: a web process that queued a reply or a photo wakes the worker that
sends or reads it, so neither waits for its idle poll (a second). Best effort: a lost wake-up
costs that poll, nothing more. Pub/sub channels are shared by every database of a Redis server,
so the channel is named after the database: two deployments (or `make test`'s two suites) on
one server do not wake each other's workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self, name: str, redis: Redis | None = None) -> None:
        self.name = name
        self.redis = redis
        self.event = asyncio.Event()
        self._publishes: set[asyncio.Task[None]] = set()

    @property
    def channel(self) -> str:
        db = self.redis.connection_pool.connection_kwargs.get("db", 0) if self.redis else 0
        return f"rumourbot:{self.name}:wake:{db}"

    def set(self) -> None:
        """Wake this process's waiter now, and every other process's through Redis."""
        self.event.set()
        if self.redis is not None:
            task = asyncio.ensure_future(self._publish(self.redis))
            self._publishes.add(task)
            task.add_done_callback(self._publishes.discard)

    async def published(self) -> None:
        """Wait until the wake-ups sent so far have reached Redis (or failed)."""
        await asyncio.gather(*self._publishes, return_exceptions=True)

    async def _publish(self, redis: Redis) -> None:
        try:
            await redis.publish(self.channel, b"1")
        except Exception as exc:
            log.warning("%s wake-up not published (%s)", self.name, type(exc).__name__)

    async def sleep(self, stop: asyncio.Event, seconds: float) -> None:
        """Sleep until woken, `stop` is set or `seconds` passed (clear `event` before looking
        for work, so a wake-up during the look is not lost)."""
        waiters = [asyncio.create_task(self.event.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def listen(self, stop: asyncio.Event) -> None:
        """Set the event whenever another process wakes this name (needs Redis); runs until
        `stop`, resubscribing after Redis restarts (the idle poll covers the gap)."""
        if self.redis is None:
            return
        while not stop.is_set():
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self.event.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s wake-up channel lost (%s); retrying", self.name,
                            type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
