"""Storage behaviour on a real database (SQLite by default, PostgreSQL in the second run)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from domain import leases
from domain.db import Database
from domain.inbox import accept, start_processing, unprocessed
from domain.knowledge import (
    ImportError_,
    ItemData,
    import_rows,
    read_rows,
    retire_item,
    upsert_item,
)
from domain.messages import Button, InboundMessage, Media, OutboundMessage
from domain.models import (
    Base,
    ItemStatus,
    KnowledgeItem,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Request,
    utcnow,
)
from domain.outbox import (
    DeliveryResult,
    claim_batch,
    enqueue,
    mark_started,
    record_result,
    recover_orphans,
    send_again,
)
from domain.residents import forget, resident_for
from domain.retention import purge
from tests.conftest import PG_ADMIN_URL


async def test_migrations_match_the_models(database: Database) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection)  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_outbox_dedup_key_sends_once(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "42")
        message = OutboundMessage(chat_id="42", text="answer", buttons=(Button("Yes", "fb:1:1"),))
        first = await enqueue(
            session, resident, message, OutboxKind.NOTIFICATION, "answer:1:v1:r:1"
        )
        again = await enqueue(
            session, resident, message, OutboxKind.NOTIFICATION, "answer:1:v1:r:1"
        )
    assert (first, again) == (True, False)
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert len(rows) == 1
    assert OutboundMessage.from_payload(rows[0].payload) == message


async def test_replies_are_claimed_before_broadcasts(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "7")
        await enqueue(session, resident, OutboundMessage("7", "news"), OutboxKind.BROADCAST, "b1")
        await enqueue(session, resident, OutboundMessage("7", "reply"), OutboxKind.REPLY)
    async with database.session() as session:
        claimed = await claim_batch(session, limit=10)
        assert [r.payload["text"] for r in claimed] == ["reply", "news"]
    assert set((await statuses(database)).values()) == {OutboxStatus.SENDING}
    async with database.session() as session:
        assert await claim_batch(session) == []  # nothing is handed out twice


async def test_concurrent_claims_never_overlap(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "8")
        for n in range(40):
            await enqueue(
                session, resident, OutboundMessage("8", f"m{n}"), OutboxKind.BROADCAST, f"k{n}"
            )

    async def claim() -> list[int]:
        got: list[int] = []
        while True:
            try:
                async with database.session() as session:
                    rows = await claim_batch(session, limit=5)
                    batch = [r.id for r in rows]
            except Exception:  # SQLite may report "database is locked" under contention: retry
                await asyncio.sleep(0.01)
                continue
            if not batch:
                return got
            got += batch

    results = await asyncio.gather(claim(), claim(), claim())
    everything = [i for r in results for i in r]
    assert len(everything) == 40 and len(set(everything)) == 40


async def test_rate_limited_send_is_retried_after_the_platform_delay(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "9")
        await enqueue(session, resident, OutboundMessage("9", "hi"))
    async with database.session() as session:
        (row,) = await claim_batch(session)
    before = utcnow()
    async with database.session() as session:
        await record_result(session, row.id, DeliveryResult(ok=False, error="429", retry_after=30))
    async with database.session() as session:
        stored = await session.get(OutboxMessage, row.id)
        assert stored is not None and stored.status == OutboxStatus.PENDING
        assert stored.next_attempt_at >= before + timedelta(seconds=29)
        assert await claim_batch(session) == []
        assert len(await claim_batch(session, now=utcnow() + timedelta(seconds=31))) == 1


async def test_permanent_failure_goes_to_dead_letter(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "10")
        await enqueue(session, resident, OutboundMessage("10", "hi"))
    async with database.session() as session:
        (row,) = await claim_batch(session)
    async with database.session() as session:
        await record_result(
            session, row.id, DeliveryResult(ok=False, error="blocked", permanent=True)
        )
    async with database.session() as session:
        stored = await session.get(OutboxMessage, row.id)
        assert stored is not None and stored.status == OutboxStatus.DEAD


async def queue_texts(database: Database, chat: str, count: int) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", chat)
        for n in range(count):
            message = OutboundMessage(chat, f"m{n}")
            await enqueue(session, resident, message, OutboxKind.BROADCAST, f"{chat}:{n}")


async def statuses(database: Database) -> dict[str, str]:
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
        return {r.payload["text"]: r.status for r in rows}


async def test_a_dead_workers_untried_rows_go_back_and_its_mid_call_row_is_in_doubt(
    database: Database,
) -> None:
    await queue_texts(database, "20", 3)
    ttl = timedelta(seconds=30)
    assert await leases.acquire(database, "outbox:dead-worker", ttl)
    async with database.session() as session:
        claimed = await claim_batch(session, worker="outbox:dead-worker")
    async with database.session() as session:
        assert await mark_started(session, claimed[0].id, "outbox:dead-worker")
    async with database.session() as session:  # its lease is alive: nothing to recover
        assert await recover_orphans(session) == (0, 0)
    await leases.release(database, "outbox:dead-worker", holder=leases.PROCESS_ID)
    async with database.session() as session:
        recovered = await recover_orphans(session)
    assert (recovered.returned, recovered.in_doubt) == (2, 1)
    assert await statuses(database) == {"m0": "in_doubt", "m1": "pending", "m2": "pending"}
    async with database.session() as session:  # the untried ones are claimed again at once
        again = await claim_batch(session, worker="outbox:other")
        assert sorted(r.payload["text"] for r in again) == ["m1", "m2"]
        rows = (await session.scalars(select(OutboxMessage))).all()
        assert {r.payload["text"]: r.attempts for r in rows if r.id in {a.id for a in again}} == {
            "m1": 1, "m2": 1
        }


async def test_resend_in_doubt_queues_the_mid_call_row_again(database: Database) -> None:
    await queue_texts(database, "21", 1)
    async with database.session() as session:
        (row,) = await claim_batch(session, worker="outbox:gone")
    async with database.session() as session:
        await mark_started(session, row.id, "outbox:gone")
    async with database.session() as session:
        assert await recover_orphans(session, resend_in_doubt=True) == (0, 1)
    assert await statuses(database) == {"m0": "pending"}


async def test_a_worker_presumed_dead_does_not_send_a_row_taken_over(database: Database) -> None:
    await queue_texts(database, "22", 1)
    async with database.session() as session:
        (row,) = await claim_batch(session, worker="outbox:slow")
    async with database.session() as session:  # no heartbeat: presumed dead, row handed back
        await recover_orphans(session)
    async with database.session() as session:
        (taken,) = await claim_batch(session, worker="outbox:new")
    async with database.session() as session:
        assert not await mark_started(session, row.id, "outbox:slow")  # fenced off
        assert await mark_started(session, taken.id, "outbox:new")
    async with database.session() as session:  # a late result of the old owner changes nothing
        await record_result(session, row.id, DeliveryResult(ok=False, error="x"), "outbox:slow")
    assert await statuses(database) == {"m0": "sending"}


async def test_a_late_answer_settles_an_in_doubt_row_and_staff_can_send_again(
    database: Database,
) -> None:
    await queue_texts(database, "23", 2)
    async with database.session() as session:
        first, second = await claim_batch(session, worker="outbox:frozen")
    async with database.session() as session:
        await mark_started(session, first.id, "outbox:frozen")
        await mark_started(session, second.id, "outbox:frozen")
    async with database.session() as session:
        await recover_orphans(session)
    async with database.session() as session:  # the platform's answer arrives after all
        await record_result(session, first.id, DeliveryResult(ok=True, platform_message_id="9"))
    async with database.session() as session:
        assert await send_again(session, second.id) is not None
        assert await send_again(session, first.id) is None  # sent: nothing to send again
    assert await statuses(database) == {"m0": "sent", "m1": "pending"}


async def test_inbox_accepts_a_platform_id_once_and_processes_it_once(database: Database) -> None:
    message = InboundMessage(
        channel="telegram",
        sender="5",
        message_id="u1",
        text="hi",
        media=(Media("photo", "file-1"),),
    )
    async with database.session() as session:
        assert await accept(session, message)
        assert not await accept(session, message)
        assert await accept(
            session, InboundMessage(channel="whatsapp", sender="5", message_id="u1")
        )
    async with database.session() as session:
        pending = await unprocessed(session, older_than=timedelta(0))
        assert message in pending  # the payload round-trips exactly
        assert await start_processing(session, message)
        assert not await start_processing(session, message)


async def test_forget_removes_requests_and_pending_messages(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "11")
        session.add(Request(resident_id=resident.id, channel="telegram", text="rumour"))
        await enqueue(session, resident, OutboundMessage("11", "pending"))
    async with database.session() as session:
        await forget(session, await resident_for(session, "telegram", "11"))
    async with database.session() as session:
        for model in (Request, OutboxMessage):
            assert await session.scalar(select(func.count()).select_from(model)) == 1 - 1


async def test_import_csv_then_reimport_updates_in_place(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "id,claim,verdict,explanation,language,published_at\n"
        "a1,Schools close for a month,Pants on Fire,No such decision.,en,2026-10-01\n"
        "a2,Bread prices doubled,mostly true,Up 80%.,en,not a date\n",
        encoding="utf-8",
    )
    async with database.session() as session:
        assert await import_rows(session, read_rows(path), origin="csv") == (2, 0)
    path.write_text(
        "id,claim,verdict,explanation\na1,Schools close for a month,false,Updated.\n",
        encoding="utf-8",
    )
    async with database.session() as session:
        assert await import_rows(session, read_rows(path), origin="csv") == (1, 0)
        items = (await session.scalars(select(KnowledgeItem).order_by(KnowledgeItem.id))).all()
    assert [(i.external_id, i.verdict, i.explanation) for i in items] == [
        ("a1", "false", "Updated."),
        ("a2", "true", "Up 80%."),
    ]
    assert items[1].published_at is None  # a broken date is dropped, not fatal


async def test_import_rejects_unusable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"claim": "ok", "verdict": "false"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ImportError_, match="line 2"):
        list(read_rows(bad))
    with pytest.raises(ImportError_):
        list(read_rows(tmp_path / "items.xlsx"))
    with pytest.raises(ImportError_, match="no claim"):
        ItemData.from_mapping({"verdict": "false"}, origin="x")


async def test_retire_marks_the_item_and_bumps_updated_at(database: Database) -> None:
    async with database.session() as session:
        item, _ = await upsert_item(session, ItemData(claim="c", verdict="false"))
        stamp = item.updated_at
    await asyncio.sleep(0.01)
    async with database.session() as session:
        retired = await retire_item(session, item.id)
        assert retired is not None and retired.status == ItemStatus.RETIRED
        assert retired.updated_at > stamp


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(database: Database) -> None:
    ttl = timedelta(seconds=30)
    assert await leases.acquire(database, "sync:feed", ttl, holder="worker-a")
    assert not await leases.acquire(database, "sync:feed", ttl, holder="worker-b")
    assert await leases.acquire(database, "sync:feed", ttl, holder="worker-a")  # renewal
    await leases.release(database, "sync:feed", holder="worker-a")
    assert await leases.acquire(database, "sync:feed", timedelta(seconds=-1), holder="worker-b")
    assert await leases.acquire(database, "sync:feed", ttl, holder="worker-c")  # b's expired


async def test_retention_purges_delivered_copies_but_keeps_pending_work(database: Database) -> None:
    async with database.session() as session:
        resident = await resident_for(session, "telegram", "12")
        await enqueue(session, resident, OutboundMessage("12", "old, sent"))
        await enqueue(session, resident, OutboundMessage("12", "old, pending"))
        await accept(session, InboundMessage(channel="telegram", sender="12", message_id="old"))
    async with database.session() as session:
        sent, pending = (
            await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ).all()
        sent.status = OutboxStatus.SENT
        assert await start_processing(session, InboundMessage("telegram", "12", "old"))
    async with database.session() as session:
        assert await purge(session, keep=timedelta(days=30)) == (0, 0)  # nothing is old yet
        assert await purge(session, keep=timedelta(seconds=-1)) == (1, 1)
        left = (await session.scalars(select(OutboxMessage))).all()
    assert [m.payload["text"] for m in left] == ["old, pending"]


@pytest.mark.postgres
async def test_processes_starting_together_migrate_a_new_database_once() -> None:
    name = f"rumourbot_migrate_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_ADMIN_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    processes = [Database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.migrate() for db in processes))
        async with processes[0].session() as session:
            versions = await session.execute(text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
    finally:
        for db in processes:
            await db.dispose()
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
