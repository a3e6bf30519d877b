"""The dispatcher's side of the channel contract: it tells a channel what it knows of the
recipient, records what the channel reports (an opt-out, a platform's "slow down"), and paces
each platform through one bucket that pays for every platform message a send makes.

The channel here is a small SMS-like platform built on the base class (`TextChannel`): the
edge of the system, as a fake Graph or Bot API is elsewhere."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from bot.channels.base import UNKNOWN, DeliveryFailed, Recipient, TextChannel
from bot.delivery.dispatcher import OutboxDispatcher
from bot.delivery.ratelimit import ChannelLimits
from domain.db import Database
from domain.messages import OutboundMessage
from domain.models import OutboxKind, OutboxMessage, Resident, utcnow
from domain.outbox import enqueue
from domain.residents import resident_for


class Sms(TextChannel):
    """Texts of 160 characters; `fail` makes the next sends fail with the given errors."""

    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.seen: list[Recipient] = []
        self.fail: list[DeliveryFailed] = []

    def parts(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> int:
        return -(-len(message.as_plain_text()) // 160)

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str:
        self.seen.append(recipient)
        if self.fail:
            raise self.fail.pop(0)
        await self.send_text(message.chat_id, message.as_plain_text())
        return str(len(self.sent))

    async def send_text(self, chat_id: str, text: str) -> str:
        self.sent.append((chat_id, text))
        return str(len(self.sent))


async def queue(db: Database, chat: str, text: str, wrote_hours_ago: float | None = None) -> None:
    async with db.session() as session:
        seen = utcnow() - timedelta(hours=wrote_hours_ago) if wrote_hours_ago else None
        resident = await resident_for(session, "sms", chat, seen_at=seen)
        await enqueue(session, resident, OutboundMessage(chat, text), OutboxKind.NOTIFICATION)


async def row_of(db: Database, chat: str) -> OutboxMessage:
    async with db.session() as session:
        return (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat))).one()


async def test_the_channel_is_told_when_the_resident_last_wrote(database: Database) -> None:
    sms = Sms()
    dispatcher = OutboxDispatcher(database, {"sms": sms})
    await queue(database, "+1", "hello", wrote_hours_ago=2)
    await queue(database, "+2", "hello")
    await dispatcher.drain_once()
    by_chat = dict(zip([c for c, _ in sms.sent], sms.seen, strict=True))
    first = by_chat["+1"]
    assert first.last_inbound_at is not None and first.now is not None
    assert first.wrote_within(timedelta(hours=3), first.now)
    assert not first.wrote_within(timedelta(hours=1), first.now)
    assert not by_chat["+2"].opted_out


async def test_an_opt_out_the_platform_reports_is_recorded(database: Database) -> None:
    sms = Sms()
    sms.fail.append(DeliveryFailed("STOP received", permanent=True, opted_out=True))
    dispatcher = OutboxDispatcher(database, {"sms": sms})
    await queue(database, "+3", "news")
    await dispatcher.drain_once()
    assert (await row_of(database, "+3")).status == "dead"
    async with database.session() as session:
        resident = (await session.scalars(select(Resident).where(Resident.chat_id == "+3"))).one()
    assert resident.opted_out


async def test_slow_down_waits_longer_each_time_and_costs_no_attempt(database: Database) -> None:
    sms = Sms()
    sms.fail += [DeliveryFailed("too many", retry_after=2.0, throttled="chat")] * 3
    clock_offset = timedelta(0)
    dispatcher = OutboxDispatcher(database, {"sms": sms}, clock=lambda: utcnow() + clock_offset)
    await queue(database, "+4", "first")
    waits = []
    for _ in range(3):
        await dispatcher.drain_once()
        row = await row_of(database, "+4")
        assert row.status == "pending" and row.attempts == 0
        waits.append((row.next_attempt_at - utcnow()).total_seconds())
        clock_offset += timedelta(minutes=1)
    assert [round(w) for w in waits] == [2, 4, 8]
    await dispatcher.drain_once()
    assert (await row_of(database, "+4")).status == "sent" and sms.sent == [("+4", "first")]


async def test_one_bucket_per_platform_pays_for_every_part(database: Database) -> None:
    sms = Sms()
    dispatcher = OutboxDispatcher(database, {"sms": sms}, limits={"sms": ChannelLimits(20)})
    for n in range(5):
        await queue(database, f"+5{n}", "x" * 450)  # three texts each: 15 at 20 a second
    started = time.monotonic()
    while await dispatcher.drain_once():
        pass
    assert len(sms.sent) == 5
    assert time.monotonic() - started >= (15 - 3) / 20 * 0.9


async def test_a_throughput_limit_holds_the_platform_once_not_once_per_send(
        database: Database) -> None:
    sms = Sms()
    sms.fail += [DeliveryFailed("throughput", retry_after=0.5, throttled="channel")] * 4
    clock_offset = timedelta(0)
    dispatcher = OutboxDispatcher(database, {"sms": sms}, limits={"sms": ChannelLimits(1000)},
                                  clock=lambda: utcnow() + clock_offset)
    for n in range(4):
        await queue(database, f"+6{n}", "news")
    await dispatcher.drain_once()  # four chats at once hear "slow down"
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    waits = [(row.next_attempt_at - utcnow()).total_seconds() for row in rows]
    assert all(row.status == "pending" and row.attempts == 0 for row in rows)
    assert max(waits) <= 0.6  # one hold of 0.5 s, not 0.5 + 1 + 2 + 4
    clock_offset = timedelta(seconds=1)
    started = time.monotonic()
    await dispatcher.drain_once()
    assert len(sms.sent) == 4
    assert time.monotonic() - started <= 1.0
