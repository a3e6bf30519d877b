"""WhatsApp's messaging limit: business-initiated messages per moving 24 hours, per number.

Meta lets a number start conversations with a limited number of people a day (its tier: 250
for a new business portfolio, then 2,000, 10,000, 100,000, unlimited). Messages to people
whose 24-hour service window is open do not count. A paced broadcast takes one slot per
message that counts; each slot is the earliest time at which the 24 hours before it hold fewer
than the tier's messages, counting earlier broadcasts' slots too. The slot becomes the outbox
row's `next_attempt_at`, so a restarted worker finds the plan where it was left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import OutboxMessage, PacedSend, Resident
from domain.sql import insert_ignoring_duplicates

DAY = timedelta(hours=24)
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=10)  # as the WhatsApp channel: a send takes time to arrive
TIERS = ("250", "2000", "10000", "100000", "unlimited")
PACED_CHANNELS = frozenset({"whatsapp"})


# Telegram: at most 20 messages a minute in one group. A token bucket of rate r and burst b
# lets b + 60r through in any minute, so 2 + 18 keeps every minute within 20.
GROUP_PER_MINUTE = 20
GROUP_BURST = 2.0
GROUP_RATE = (GROUP_PER_MINUTE - GROUP_BURST) / 60.0


# WhatsApp's pair rate limit: about one message every 6 seconds to the same person, with bursts
# (Meta allows up to 45 in 6 s, then refuses that person with 131056 until the time borrowed
# has passed). Messages queued for one resident go a few at once, then one per 6 s.
PAIR_SECONDS = 6.0
PAIR_BURST = 5.0


def group_bucket(channel: str, chat_id: str) -> tuple[str, float, float] | None:
    """(bucket key, rate per second, burst) for a Telegram group or channel chat, whose ids
    are negative; None for a one-to-one chat."""
    if channel != "telegram" or not chat_id.startswith("-"):
        return None
    return f"{channel}:group:{chat_id}", GROUP_RATE, GROUP_BURST


def tier_limit(tier: str) -> int | None:
    """Messages per 24 hours for a tier setting; None when unlimited."""
    if tier not in TIERS:
        raise ValueError(f"unknown WhatsApp messaging tier {tier!r}")
    return None if tier == "unlimited" else int(tier)


def window_open(resident: Resident, at: datetime) -> bool:
    last = resident.last_inbound_at
    return last is not None and at - last < WINDOW - WINDOW_MARGIN


class SlotPlanner:
    """Hands out slots in time order, in the caller's transaction."""

    def __init__(self, channel: str, limit: int | None, now: datetime) -> None:
        self.channel = channel
        self.limit = limit
        self.now = now
        self.slots: list[datetime] = []

    async def load(self, session: AsyncSession) -> None:
        query = (
            select(PacedSend.slot_at)
            .where(PacedSend.channel == self.channel, PacedSend.slot_at > self.now - DAY)
            .order_by(PacedSend.slot_at)
        )
        self.slots = list((await session.scalars(query)).all())

    def next_slot(self) -> datetime:
        at = max(self.now, self.slots[-1]) if self.slots else self.now
        if self.limit is not None and len(self.slots) >= self.limit:
            at = max(at, self.slots[-self.limit] + DAY)
        return at

    def simulate(self, count: int) -> datetime | None:
        """The slot the `count`-th more message would get (for a preview); nothing stored."""
        at = None
        for _ in range(count):
            at = self.next_slot()
            self.slots.append(at)
        return at

    async def take(self, session: AsyncSession, dedup_key: str) -> datetime | None:
        """The slot for `dedup_key`; None when it already had one (planned before)."""
        at = self.next_slot()
        taken = await insert_ignoring_duplicates(
            session,
            PacedSend.__table__,  # type: ignore[arg-type]
            {"channel": self.channel, "dedup_key": dedup_key, "slot_at": at},
        )
        if not taken:
            return None
        self.slots.append(at)
        return at


class PacedGate:
    """The check at send time, for when the plan slipped (workers were down, sends bunched up):
    a paced message goes only while fewer than the tier's paced messages went in the 24 hours
    before; otherwise it waits until the oldest of them is 24 hours old.

    A claimed batch is checked in one transaction (`admit_many`): rows that were not paced
    (their window was open) cost nothing more, and paced ones are counted together. Check and
    record happen under one lock per process; with several workers the count can exceed the
    tier by at most one batch per other worker at one instant.
    """

    def __init__(self, db: Database, limit: int | None, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.limit = limit
        self.clock = clock
        self._lock = asyncio.Lock()

    async def admit(self, outbox_id: int) -> float:
        """0 when the row may be sent now (and is counted), else seconds to wait."""
        return (await self.admit_many([outbox_id])).get(outbox_id, 0.0)

    async def admit_many(self, outbox_ids: Sequence[int]) -> dict[int, float]:
        """The rows that must wait, with their seconds; every other row may be sent now (the
        paced ones among them are counted, in id order, until the tier is reached)."""
        if not outbox_ids:
            return {}
        async with self._lock, self.db.session() as session:
            query = (
                select(OutboxMessage.id, PacedSend)
                .join(PacedSend, PacedSend.dedup_key == OutboxMessage.dedup_key)
                .where(OutboxMessage.id.in_(list(outbox_ids)), PacedSend.sent_at.is_(None))
                .order_by(OutboxMessage.id)
            )
            paced = (await session.execute(query)).all()  # not paced, or admitted before: go
            now = self.clock()
            room: dict[str, tuple[int | None, datetime]] = {}
            waits: dict[int, float] = {}
            for outbox_id, send in paced:
                if send.channel not in room:
                    room[send.channel] = await self._room(session, send.channel, now)
                left, oldest = room[send.channel]
                if left is not None and left <= 0:
                    waits[outbox_id] = max((oldest + DAY - now).total_seconds(), 1.0)
                    continue
                send.sent_at = now
                room[send.channel] = (None if left is None else left - 1, oldest)
            return waits

    async def _room(
        self, session: AsyncSession, channel: str, now: datetime
    ) -> tuple[int | None, datetime]:
        """(paced messages the tier still allows now, None when unlimited; the oldest of the
        moving 24 hours, which frees the next place)."""
        if self.limit is None:
            return None, now
        recent = (
            select(func.count(), func.min(PacedSend.sent_at))
            .where(PacedSend.channel == channel)
            .where(PacedSend.sent_at > now - DAY)
        )
        count, oldest = (await session.execute(recent)).one()
        return self.limit - int(count), oldest or now
