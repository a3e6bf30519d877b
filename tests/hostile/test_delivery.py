"""Delivery when the database refuses a write: a result that cannot be recorded, and the
apology to a new WhatsApp resident after a failed first turn."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from bot.channels.base import UNKNOWN, Channel, Recipient
from bot.delivery.dispatcher import OutboxDispatcher
from domain import leases
from domain.db import Database
from domain.messages import OutboundMessage
from domain.models import OutboxMessage, OutboxStatus, utcnow
from domain.outbox import enqueue
from domain.residents import resident_for
from tests.bot.channels.test_whatsapp import WhatsApp, graph, wa, wa_settings
from tests.fakes import graph_api as meta


class Recording(Channel):
    name = "webchat"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        self.sent.append(message.text)
        return "ok"


async def test_a_result_that_cannot_be_written_does_not_block_recovery_of_a_dead_worker(
    database: Database, poison: object
) -> None:
    # the dispatcher under test is the only one: a running process's own dispatcher would
    # race it for the rows (and, loaded, sometimes sent "first" itself)
    db = database
    channel = Recording()
    dispatcher = OutboxDispatcher(db, {"webchat": channel}, worker_timeout=30.0)
    await dispatcher.heartbeat()
    async with db.session() as session:
        resident = await resident_for(session, "webchat", "r1")
        await enqueue(session, resident, OutboundMessage("r1", "first"))
    await poison("outbox", "status", "sent", "UPDATE")  # type: ignore[operator]
    await dispatcher.drain_once()  # sends "first"; recording "sent" is refused
    assert channel.sent == ["first"]
    async with db.session() as session:  # meanwhile a worker died holding another row
        resident = await resident_for(session, "webchat", "r1")
        await enqueue(session, resident, OutboundMessage("r1", "orphan"))
        await session.flush()
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING, claimed_by="outbox:dead-worker", attempts=1)
        )
    await leases.acquire(db, "outbox:dead-worker", timedelta(seconds=-1))  # already expired
    await dispatcher.heartbeat()  # must still hand the dead worker's row back
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    statuses = {r.payload["text"]: r.status for r in rows}
    assert statuses == {"first": OutboxStatus.IN_DOUBT, "orphan": OutboxStatus.PENDING}
    assert dispatcher._unsettled == {}


async def test_a_new_whatsapp_resident_gets_the_apology_when_their_first_turn_fails(
    wa: WhatsApp, poison: object
) -> None:
    await poison("requests", "text", "POISON")  # type: ignore[operator]
    sent = await wa.say(
        "254711000001", meta.text_payload("254711000001", "POISON rumour here", forwarded=True)
    )
    assert sent and "something went wrong" in str(sent[0].body)
    assert sent[0].body.get("type") == "text"  # free-form: their 24-hour window is open
    for _ in range(50):  # the result is recorded just after the platform answered
        outbox = await wa.outbox("254711000001")
        if outbox and outbox[0].status != OutboxStatus.SENDING:
            break
        await asyncio.sleep(0.1)
    assert [row.status for row in outbox] == [OutboxStatus.SENT]
    assert utcnow() - (await wa.resident("254711000001")).last_inbound_at < timedelta(minutes=1)  # type: ignore[operator]
