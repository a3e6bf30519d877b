"""The outbox dispatcher: claims due messages, sends them through their channel, records results.

In the embedded default it runs as an asyncio task in the same process and is woken right
after a turn commits, so a reply leaves within milliseconds; workers run the same loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.channels.base import DeliveryFailed, OutboundChannel
from domain.db import Database
from domain.messages import OutboundMessage

from domain.outbox import DeliveryResult, claim_due, record_result

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0


class OutboxDispatcher:
    """Delivers outbox rows; safe to run in several processes at once on PostgreSQL."""

    def __init__(self, db: Database, channels: Mapping[str, OutboundChannel] | None = None,
                 batch: int = 50) -> None:
        self.db = db
        self.channels: dict[str, OutboundChannel] = dict(channels or {})
        self.batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Send one batch of due messages; returns how many were attempted."""
        async with self.db.session() as session:
            rows = await claim_due(session, self.batch)
            claimed = [(r.id, r.channel, OutboundMessage.from_payload(r.payload)) for r in rows
                       if r.channel in self.channels]
            for row in rows:
                if row.channel not in self.channels:  # another process serves this channel
                    row.status = "pending"
                    row.attempts -= 1
        for outbox_id, channel, message in claimed:
            result = await self._send(channel, message)
            async with self.db.session() as session:
                await record_result(session, outbox_id, result)
        return len(claimed)

    async def _send(self, channel_name: str, message: OutboundMessage) -> DeliveryResult:
        try:
            platform_id = await self.channels[channel_name].send(message)
        except DeliveryFailed as exc:
            return DeliveryResult(ok=False, error=str(exc), retry_after=exc.retry_after,
                                  permanent=exc.permanent)
        except Exception as exc:
            log.warning("send through %s failed: %s", channel_name, type(exc).__name__)
            return DeliveryResult(ok=False, error=type(exc).__name__)
        return DeliveryResult(ok=True, platform_message_id=platform_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; sleep until woken or for a short idle interval."""
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
            await asyncio.wait(waiters, timeout=IDLE_POLL_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()


