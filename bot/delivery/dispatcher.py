"""The outbox dispatcher: claims due messages, sends them through their channel, records results.

Rows are claimed in priority order (replies before notifications before broadcasts), sent with
bounded concurrency but in order within a chat, paced by the platform's limits in one place
(one token bucket per platform, paying for each platform message a send makes; shared through
Redis when several workers run), and recorded one by one. Channels are told what is known of
the recipient (last message, opt-out) and report what happened: an opt-out is stored, and a
platform's "slow down" holds that chat or the whole platform with a growing wait, without
counting as a failed attempt. Each dispatcher heartbeats a lease in the database; when one
dies, any other hands its claimed rows back (never tried: sent at once; mid-call: marked in
doubt, see `domain.outbox.recover_orphans`). In the embedded default
it runs inside the one process and is woken right after a turn commits; with Redis, a wake-up
is published to every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby

from redis.asyncio import Redis

from bot.channels.base import Channel, Receipt, Recipient
from bot.delivery.batching import Coalescer
from bot.delivery.metrics import MESSAGES_OUT, SEND_SECONDS
from bot.delivery.pacing import PACED_CHANNELS, PacedGate, group_bucket
from bot.delivery.ratelimit import Backoff, ChannelLimits, LocalRateLimiter, RateLimiter, Take
from bot.delivery.recipients import claim_with_recipients, mark_opted_out, record_receipts
from domain import leases
from domain.db import Database, is_unavailable
from domain.messages import OutboundMessage
from domain.models import utcnow
from domain.outbox import (
    DeliveryResult,
    mark_started,
    record_result,
    record_results,
    recover_orphans,
    release,
    unrecorded,
)
from domain.wakeups import Wakeup

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0
Claimed = tuple[int, str, str, OutboundMessage, Recipient]  # id, channel, chat, message, to


class OutboxDispatcher:
    """Delivers outbox rows; any number may run at once against one PostgreSQL."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel] | None = None,
        batch: int = 50,
        concurrency: int = 16,
        limiter: RateLimiter | None = None,
        limits: Mapping[str, ChannelLimits] | None = None,
        redis: Redis | None = None,
        worker_timeout: float = 30.0,
        resend_in_doubt: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock  # what "due" is measured against (paced broadcasts, tests)
        self.gate: PacedGate | None = None  # WhatsApp's messaging limit, checked at send time
        self.worker_id = f"outbox:{leases.PROCESS_ID}"
        self.worker_timeout = worker_timeout
        self.resend_in_doubt = resend_in_doubt
        self._heartbeat_at = float("-inf")
        self._stopping = False
        self._unsettled: dict[int, DeliveryResult | None] = {}
        self.channels: dict[str, Channel] = dict(channels or {})
        self.backoff = Backoff()
        self._held_until: dict[str, float] = {}  # platform -> monotonic end of its hold
        self.batch = batch
        self.limiter = limiter or LocalRateLimiter()
        self.limits = dict(limits or {})
        self.redis = redis
        self._slots = asyncio.Semaphore(concurrency)
        self.wakeup = Wakeup("outbox", redis)
        # each row's result is still awaited one by one, but written together with the others
        self._results: Coalescer[int, DeliveryResult, None] = Coalescer(
            self._write_results, None
        )

    def wake(self) -> None:
        """Something was queued: deliver now (here, and in every worker when Redis is set)."""
        self.wakeup.set()  # best effort: other workers still find the rows on their idle poll

    async def heartbeat(self) -> None:
        """Renew this worker's lease and hand back the rows of workers whose lease expired."""
        self._heartbeat_at = time.monotonic()
        await leases.acquire(self.db, self.worker_id, timedelta(seconds=self.worker_timeout))
        try:
            await self._settle()
        finally:  # a result that cannot be written must not keep a dead worker's rows stuck
            async with self.db.session() as session:
                recovered = await recover_orphans(session, self.resend_in_doubt)
        if recovered.returned or recovered.in_doubt:
            log.warning(
                "a worker stopped: %d unsent messages queued again, %d in doubt",
                recovered.returned,
                recovered.in_doubt,
            )

    async def drain_once(self) -> int:
        """Send one batch of due messages; returns how many were attempted."""
        if time.monotonic() - self._heartbeat_at > self.worker_timeout / 3:
            await self.heartbeat()
        claimed = await self._claim()
        held = await self._held(claimed)
        chats = [
            list(group)
            for _, group in groupby(
                sorted(claimed, key=lambda c: (c[1], c[2], c[0])), key=lambda c: (c[1], c[2])
            )
        ]
        await asyncio.gather(*(self._send_chat(chat, held) for chat in chats))
        return len(claimed)

    async def _send_chat(self, rows: list[Claimed], held: Mapping[int, float]) -> None:
        """Send one chat's rows in order, one at a time.

        Whatever cannot be written back (the database went away) is kept here and settled by
        the next heartbeat, so no row stays claimed by a live worker forever.
        """
        async with self._slots:
            for position, (outbox_id, channel, chat_id, message, known) in enumerate(rows):
                untried = [r[0] for r in rows[position:]]
                try:
                    if self._stopping:  # a shutdown: the rest goes back
                        await self._release(untried, 0.0)
                        return
                    if held.get(outbox_id, 0.0) > 0:  # over the daily limit: this chat waits
                        await self._release(untried, held[outbox_id])
                        return
                    recipient = replace(known, now=self.clock())
                    wait = await self._admit(channel, chat_id, self._parts(channel, message,
                                                                           recipient))
                    if wait > 0:  # a busy chat: the rest goes back
                        await self._release(untried, wait)
                        return
                    if not await self._mark_started(outbox_id):
                        continue  # presumed dead and taken over: another worker sends it
                except Exception as exc:
                    log.warning("delivery paused for one chat (%s)", type(exc).__name__)
                    await self._release(untried, 1.0)
                    return
                report = await self._send(channel, message, recipient)
                result = await self._result(channel, chat_id, report)
                await self._record(outbox_id, result)
                if report.opted_out:
                    await self._note_opt_out(channel, chat_id)
                if result.throttled:  # this chat's later messages wait behind this one
                    await self._release(untried[1:], result.retry_after or 1.0)
                    return

    async def _held(self, claimed: list[Claimed]) -> dict[int, float]:
        """The batch's broadcasts over WhatsApp's daily limit, with their waits: the gate checks
        the whole batch in one transaction (a check per message, under the gate's lock, held
        every send behind one database round trip)."""
        broadcasts = [
            outbox_id
            for outbox_id, channel, _, message, _ in claimed
            if channel in PACED_CHANNELS and message.template == "broadcast"
        ]
        if self.gate is None or not broadcasts:
            return {}
        try:
            return await self.gate.admit_many(broadcasts)
        except Exception as exc:  # the database is away: these wait for the next claim
            log.warning("messaging limit not checked (%s)", type(exc).__name__)
            return dict.fromkeys(broadcasts, 1.0)

    async def _release(self, outbox_ids: list[int], delay: float) -> None:
        try:
            async with self.db.session() as session:
                await release(session, outbox_ids, delay, self.worker_id)
        except Exception:
            self._unsettled.update((i, None) for i in outbox_ids)

    async def _claim(self) -> list[Claimed]:
        """Claim a batch of due rows with what is known of their recipients (last message,
        opt-out): one statement, one round trip on PostgreSQL."""
        async with self.db.autocommit() as session:
            rows = await claim_with_recipients(
                session, self.batch, self.clock(), list(self.channels), self.worker_id
            )
        return [
            (r.id, r.channel, r.chat_id, OutboundMessage.from_payload(r.payload), known)
            for r, known in rows
        ]

    async def _mark_started(self, outbox_id: int) -> bool:
        """`domain.outbox.mark_started`, committed right before this row's platform call: one
        autocommit statement (one round trip on PostgreSQL, instead of BEGIN, UPDATE and
        COMMIT). Its commit is the last thing between the mark and the send: handing the
        autocommit connection back to the pool sends nothing to the server (asyncpg resets
        its isolation level on the client; there is no transaction to roll back). Not
        coalesced with other rows: a row marked with others would wait for the wire while
        marked, and a worker killed then leaves it "in doubt" although the platform never had
        it (tests/faults)."""
        async with self.db.autocommit() as session:
            return await mark_started(session, outbox_id, self.worker_id)

    async def _write_results(self, rows: list[tuple[int, DeliveryResult]]) -> dict[int, None]:
        """The results that came back meanwhile, recorded together: sent ones in one statement
        (one round trip without a transaction around it), failures in a transaction."""
        if all(result.ok for _, result in rows):
            async with self.db.autocommit() as session:
                await record_results(session, rows, self.worker_id)
            return {}
        async with self.db.session() as session:
            await record_results(session, rows, self.worker_id)
        return {}

    async def _record(self, outbox_id: int, result: DeliveryResult) -> None:
        try:
            await self._results.submit(outbox_id, result)
        except Exception:
            self._unsettled[outbox_id] = result

    async def _settle(self) -> None:
        """Write back results and releases that failed earlier (raises while the database is
        away). A result that cannot be written for another reason settles the row another
        way (`domain.outbox.unrecorded`): it is never left claimed by a live worker."""
        for outbox_id, result in list(self._unsettled.items()):
            try:
                await self._write_back(outbox_id, result)
            except Exception as exc:
                if is_unavailable(exc) or result is None:
                    raise
                log.warning(
                    "delivery result of %d not recorded (%s)", outbox_id, type(exc).__name__
                )
                async with self.db.session() as session:
                    await unrecorded(session, outbox_id, result.ok, self.worker_id)
            self._unsettled.pop(outbox_id, None)  # two heartbeats may settle at once

    async def _write_back(self, outbox_id: int, result: DeliveryResult | None) -> None:
        async with self.db.session() as session:
            if result is None:
                await release(session, [outbox_id], 0.0, self.worker_id)
            else:
                await record_result(session, outbox_id, result, self.worker_id)

    # -- the send path: pacing, the channel's report, platform limits ---------------------
    def _parts(self, channel: str, message: OutboundMessage, recipient: Recipient) -> int:
        return max(1, self.channels[channel].parts(message, recipient))

    async def _admit(self, channel: str, chat_id: str, parts: int = 1) -> float:
        """The chat's limits, then this message's slot under the platform's limit, in one
        limiter call (one Redis script): > 0 when the chat is busy (seconds until it may
        send; nothing booked), else 0 once the slot has come. The platform's bucket is the
        one every send to the platform passes (shared through Redis); a message pays for
        each of its `parts`."""
        takes: list[Take] = []
        group = group_bucket(channel, chat_id)  # Telegram: 20 a minute in one group
        if group is not None:
            takes.append(Take(group[0], group[1], group[2], reserve=False))
        limits = self.limits.get(channel)
        if limits is not None and limits.per_chat_per_second is not None:
            takes.append(Take(f"{channel}:chat:{chat_id}", limits.per_chat_per_second,
                              limits.per_chat_burst, reserve=False))
        if limits is not None:
            takes.append(Take(f"{channel}:send", limits.per_second, 1.0, reserve=True,
                              cost=parts))
        if not takes:
            return 0.0
        waits = await self.limiter.acquire_many(takes)
        for take, wait in zip(takes, waits, strict=False):
            if wait > 0 and not take.reserve:
                return wait
        if limits is not None and waits[-1] > 0:
            await asyncio.sleep(waits[-1])
        return 0.0

    async def _hold_channel(self, channel: str, base: float) -> float:
        """The platform said the whole channel is over its throughput: book the bucket ahead
        by the wait's worth of sends, so every worker pauses before the next one. The sends
        already under way that hear the same answer join this hold instead of adding their
        own; the wait grows only when the platform still says so after a hold. Returns it."""
        now = time.monotonic()
        if now < self._held_until.get(channel, 0.0):
            return self._held_until[channel] - now
        seconds = self.backoff.wait(channel, base)
        self._held_until[channel] = now + seconds
        limits = self.limits.get(channel)
        if limits is not None:
            await self.limiter.acquire(
                f"{channel}:send", limits.per_second, 1.0, reserve=True,
                cost=seconds * limits.per_second,
            )
        return seconds

    async def _send(
        self, channel_name: str, message: OutboundMessage, recipient: Recipient
    ) -> DeliveryResult:
        with SEND_SECONDS.labels(channel_name).time():
            try:
                report = await self.channels[channel_name].report(message, recipient)
            except Exception as exc:
                log.warning("send through %s failed: %s", channel_name, type(exc).__name__)
                report = DeliveryResult(ok=False, error=type(exc).__name__)
        outcome = "sent" if report.ok else "permanent" if report.permanent else "retry"
        MESSAGES_OUT.labels(channel_name, outcome).inc()
        return report

    async def _result(self, channel: str, chat_id: str, report: DeliveryResult) -> DeliveryResult:
        """What is recorded for the row. A "slow down" waits longer each time it repeats for
        the same chat (pair limit) or the same platform (throughput), from the platform's own
        figure; a success starts the count again."""
        if report.ok:
            self.backoff.reset(f"{channel}:chat:{chat_id}")
            self.backoff.reset(channel)
            return report
        if report.throttled is None or report.permanent:
            return report
        base = report.retry_after or 1.0
        if report.throttled == "channel":
            wait = await self._hold_channel(channel, base)
        else:
            wait = self.backoff.wait(f"{channel}:chat:{chat_id}", base)
        log.info("%s asked to slow down (%s); trying again in %.0f s", channel,
                 report.throttled, wait)
        return replace(report, retry_after=wait)

    async def _note_opt_out(self, channel: str, chat_id: str) -> None:
        try:
            async with self.db.session() as session:
                await mark_opted_out(session, channel, chat_id)
        except Exception as exc:  # the next send learns it again from the platform
            log.warning("opt-out not recorded (%s)", type(exc).__name__)

    async def record_receipts(self, channel: str, receipts: list[Receipt]) -> None:
        """A channel's delivery receipts; a message queued again as a template goes now."""
        if await record_receipts(self.db, channel, receipts):
            self.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; sleep until woken or for a short idle interval.

        On stop, messages being sent are finished, claimed ones not yet tried are handed back
        and the lease is released, so another worker takes over at once.
        """
        listener = asyncio.create_task(self.wakeup.listen(stop))
        beating = asyncio.create_task(self._beat(stop))
        watcher = asyncio.create_task(self._watch_stop(stop))
        try:
            while not stop.is_set():
                self.wakeup.event.clear()  # before looking: a wake-up meanwhile is kept
                try:
                    claimed = await self.drain_once()
                except Exception as exc:
                    if is_unavailable(exc):
                        log.warning("outbox: database unavailable; will retry")
                    else:
                        log.exception("outbox drain failed")
                    claimed = 0
                if claimed >= self.batch:  # a full batch: more may be due already
                    continue
                # fewer were due than a batch takes: the next look is at the next wake-up
                # (one per queued message) or the idle poll, not at once (a claim that found
                # nothing after every message was a statement per message)
                await self.wakeup.sleep(stop, IDLE_POLL_SECONDS)
        finally:
            for task in (listener, beating, watcher):
                task.cancel()
            with contextlib.suppress(Exception):
                await leases.release(self.db, self.worker_id)

    async def _watch_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping = True

    async def _beat(self, stop: asyncio.Event) -> None:
        """Heartbeat even while a long batch is being paced out."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.worker_timeout / 3)
            if stop.is_set():
                return
            try:
                await self.heartbeat()
            except Exception as exc:  # the database is away; claims fail too until it is back
                log.warning("outbox heartbeat failed (%s)", type(exc).__name__)

