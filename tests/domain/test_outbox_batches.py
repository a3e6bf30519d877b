"""The dispatcher's batched bookkeeping: a batch claimed in one statement, marked started and
recorded together, with the same fencing as the one-row functions."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from domain.db import Database
from domain.messages import OutboundMessage
from domain.models import OutboxKind, OutboxMessage, OutboxStatus
from domain.outbox import (
    DeliveryResult,
    claim_batch,
    enqueue,
    mark_started_many,
    record_results,
    recover_orphans,
    release,
)
from domain.residents import resident_for


async def _queue(database: Database, chat: str, texts: list[str], start: int = 0) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", chat)
        for n, text in enumerate(texts, start):
            kind = OutboxKind.BROADCAST if text.startswith("news") else OutboxKind.REPLY
            await enqueue(session, resident, OutboundMessage(chat, text), kind, f"{chat}:{n}")


async def _statuses(database: Database) -> dict[str, tuple[str, str | None]]:
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return {r.payload["text"]: (r.status, r.platform_message_id) for r in rows}


async def test_a_batch_is_claimed_in_order_once_and_recorded_together(database: Database) -> None:
    await _queue(database, "1", ["news a", "reply a", "reply b", "news b"])
    async with database.autocommit() as session:
        claimed = await claim_batch(session, limit=10, worker="w1")
    assert [r.payload["text"] for r in claimed] == ["reply a", "reply b", "news a", "news b"]
    async with database.autocommit() as session:
        assert await claim_batch(session, limit=10, worker="w2") == []  # nothing twice
        started = await mark_started_many(session, [r.id for r in claimed], "w1")
    assert started == {r.id for r in claimed}
    results = [(r.id, DeliveryResult(ok=True, platform_message_id=f"p{r.id}")) for r in claimed]
    results[-1] = (claimed[-1].id, DeliveryResult(ok=False, error="busy", retry_after=30))
    async with database.session() as session:
        await record_results(session, results, "w1")
    statuses = await _statuses(database)
    assert {t: s for t, (s, _) in statuses.items()} == {
        "reply a": OutboxStatus.SENT, "reply b": OutboxStatus.SENT, "news a": OutboxStatus.SENT,
        "news b": OutboxStatus.PENDING}  # due again after its retry_after
    assert statuses["reply a"][1] == f"p{claimed[0].id}"


async def test_a_worker_presumed_dead_neither_marks_nor_records(database: Database) -> None:
    await _queue(database, "2", ["reply a", "reply b"])
    async with database.autocommit() as session:
        claimed = await claim_batch(session, limit=10, worker="outbox:frozen")
    await recover_orphans_now(database)  # its lease never existed: the rows go back
    async with database.autocommit() as session:
        taken = await claim_batch(session, limit=10, worker="outbox:new")
        assert await mark_started_many(session, [r.id for r in claimed], "outbox:frozen") == set()
        assert len(await mark_started_many(session, [r.id for r in taken], "outbox:new")) == 2
    async with database.autocommit() as session:
        await record_results(
            session, [(r.id, DeliveryResult(ok=True, platform_message_id="late")) for r in claimed],
            "outbox:frozen")
    assert {s for s, _ in (await _statuses(database)).values()} == {OutboxStatus.SENDING}


async def test_concurrent_batch_claims_never_overlap(database: Database) -> None:
    await _queue(database, "3", [f"news {n}" for n in range(30)])

    async def claim(worker: str) -> list[int]:
        got: list[int] = []
        while True:
            async with database.autocommit() as session:
                rows = await claim_batch(session, limit=4, worker=worker)
            if not rows:
                return got
            got += [r.id for r in rows]

    first, second = await asyncio.gather(claim("a"), claim("b"))
    assert not set(first) & set(second)
    assert len(first) + len(second) == 30


async def test_a_message_given_back_to_wait_keeps_its_followers_behind_it(
    database: Database,
) -> None:
    await _queue(database, "4", ["I am listening to your voice note", "news later"])
    async with database.autocommit() as session:
        rows = await claim_batch(session, limit=10, worker="w1")
        await release(session, [r.id for r in rows], 30.0, "w1")  # the chat was busy
    await _queue(database, "4", ["That voice note is too long to check"], start=2)
    async with database.autocommit() as session:
        # the newer reply is due, but the older one to the same resident waits: so does it
        assert await claim_batch(session, limit=10, worker="w1") == []
    await _queue(database, "5", ["another resident's reply"])
    async with database.autocommit() as session:
        claimed = await claim_batch(session, limit=10, worker="w1")
    assert [r.payload["text"] for r in claimed] == ["another resident's reply"]


async def recover_orphans_now(database: Database) -> None:
    async with database.session() as session:
        await recover_orphans(session)
