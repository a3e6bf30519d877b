"""The outbox dispatcher: claims due messages, sends them through their channel, records results.

Rows are claimed in priority order (replies before notifications before broadcasts), sent with
bounded concurrency but in order within a chat, paced by the platform's limits (shared through
Redis when several workers run), and recorded one by one, so a crash re-sends at most the
messages that were in flight. In the embedded default it runs inside the one process and is
woken right after a turn commits; with Redis, a wake-up is published to every worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from itertools import groupby

from redis.asyncio import Redis

from bot.channels.base import DeliveryFailed, OutboundChannel
from bot.metrics import MESSAGES_OUT, SEND_SECONDS
from bot.ratelimit import ChannelLimits, LocalRateLimiter, RateLimiter
from domain.db import Database
from domain.messages import OutboundMessage
from domain.outbox import DeliveryResult, claim_due, record_result, release

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0
WAKE_CHANNEL = "rumourbot:outbox:wake"


class OutboxDispatcher:
    """Delivers outbox rows; any number may run at once against one PostgreSQL."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, OutboundChannel] | None = None,
        batch: int = 50,
        concurrency: int = 16,
        limiter: RateLimiter | None = None,
        limits: Mapping[str, ChannelLimits] | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.db = db
        self.channels: dict[str, OutboundChannel] = dict(channels or {})
        self.batch = batch
        self.limiter = limiter or LocalRateLimiter()
        self.limits = dict(limits or {})
        self.redis = redis
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._publishes: set[asyncio.Task[object]] = set()

    def wake(self) -> None:
        """Something was queued: deliver now (here, and in every worker when Redis is set)."""
        self._wake.set()
        if self.redis is not None:
            task = asyncio.ensure_future(self.redis.publish(WAKE_CHANNEL, b"1"))
            self._publishes.add(task)
            task.add_done_callback(self._publishes.discard)

    async def drain_once(self) -> int:
        """Send one batch of due messages; returns how many were attempted."""
        async with self.db.session() as session:
            rows = await claim_due(session, self.batch, channels=list(self.channels))
            claimed = [
                (r.id, r.channel, r.chat_id, OutboundMessage.from_payload(r.payload)) for r in rows
            ]
        chats = [
            list(group)
            for _, group in groupby(
                sorted(claimed, key=lambda c: (c[1], c[2], c[0])), key=lambda c: (c[1], c[2])
            )
        ]
        await asyncio.gather(*(self._send_chat(chat) for chat in chats))
        return len(claimed)

    async def _send_chat(self, rows: list[tuple[int, str, str, OutboundMessage]]) -> None:
        async with self._slots:
            for position, (outbox_id, channel, chat_id, message) in enumerate(rows):
                wait = await self._chat_wait(channel, chat_id)
                if wait > 0:  # this chat is busy: the rest of its messages go back, in order
                    async with self.db.session() as session:
                        await release(session, [r[0] for r in rows[position:]], wait)
                    return
                await self._pace(channel)
                result = await self._send(channel, message)
                async with self.db.session() as session:
                    await record_result(session, outbox_id, result)

    async def _chat_wait(self, channel: str, chat_id: str) -> float:
        limits = self.limits.get(channel)
        if limits is None or limits.per_chat_per_second is None:
            return 0.0
        return await self.limiter.acquire(
            f"{channel}:chat:{chat_id}",
            limits.per_chat_per_second,
            limits.per_chat_burst,
            reserve=False,
        )

    async def _pace(self, channel: str) -> None:
        limits = self.limits.get(channel)
        if limits is not None:
            wait = await self.limiter.acquire(
                f"{channel}:all", limits.per_second, 1.0, reserve=True
            )
            if wait > 0:
                await asyncio.sleep(wait)

    async def _send(self, channel_name: str, message: OutboundMessage) -> DeliveryResult:
        with SEND_SECONDS.labels(channel_name).time():
            result = await self._try_send(channel_name, message)
        outcome = "sent" if result.ok else "permanent" if result.permanent else "retry"
        MESSAGES_OUT.labels(channel_name, outcome).inc()
        return result

    async def _try_send(self, channel_name: str, message: OutboundMessage) -> DeliveryResult:
        try:
            platform_id = await self.channels[channel_name].send(message)
        except DeliveryFailed as exc:
            return DeliveryResult(
                ok=False, error=str(exc), retry_after=exc.retry_after, permanent=exc.permanent
            )
        except Exception as exc:
            log.warning("send through %s failed: %s", channel_name, type(exc).__name__)
            return DeliveryResult(ok=False, error=type(exc).__name__)
        return DeliveryResult(ok=True, platform_message_id=platform_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; sleep until woken or for a short idle interval."""
        listener = asyncio.create_task(self._listen(stop)) if self.redis is not None else None
        try:
            while not stop.is_set():
                try:
                    sent = await self.drain_once()
                except Exception:
                    log.exception("outbox drain failed")
                    sent = 0
                if sent:
                    continue
                self._wake.clear()
                waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
                await asyncio.wait(
                    waiters, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if listener is not None:
                listener.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake up when another process queued something (Redis pub/sub)."""
        assert self.redis is not None
        while not stop.is_set():
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(WAKE_CHANNEL)
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarting: the idle poll still delivers
                log.warning("outbox wake-up channel lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
