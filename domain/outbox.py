"""Outbox operations: enqueue in the caller's transaction, claim due rows, record results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import OutboundMessage
from domain.models import PRIORITY, OutboxKind, OutboxMessage, OutboxStatus, Resident, utcnow
from domain.sql import insert_ignoring_duplicates

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0
STALE_SENDING = timedelta(minutes=5)


async def enqueue(
    session: AsyncSession,
    resident: Resident,
    message: OutboundMessage,
    kind: OutboxKind = OutboxKind.REPLY,
    dedup_key: str | None = None,
) -> bool:
    """Queue `message` for `resident`; False when `dedup_key` was already queued (sent once)."""
    return await insert_ignoring_duplicates(
        session,
        OutboxMessage.__table__,  # type: ignore[arg-type]
        {
            "resident_id": resident.id,
            "channel": resident.channel,
            "chat_id": resident.chat_id,
            "kind": kind.value,
            "priority": PRIORITY[kind],
            "payload": message.to_payload(),
            "dedup_key": dedup_key,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": utcnow(),
            "created_at": utcnow(),
        },
    )


async def claim_due(
    session: AsyncSession,
    limit: int = 50,
    now: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> list[OutboxMessage]:
    """Mark up to `limit` due rows as sending and return them, highest priority first.

    On PostgreSQL concurrent workers skip each other's rows (`FOR UPDATE SKIP LOCKED`); rows
    left in `sending` by a crashed worker become due again after `STALE_SENDING`.
    """
    now = now or utcnow()
    due = (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now)
    stale = (OutboxMessage.status == OutboxStatus.SENDING) & (
        OutboxMessage.next_attempt_at <= now - STALE_SENDING
    )
    query = (
        select(OutboxMessage)
        .where(due | stale)
        .where(OutboxMessage.channel.in_(channels) if channels is not None else true())
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.next_attempt_at = now
        row.attempts += 1
    return rows


async def release(session: AsyncSession, outbox_ids: Sequence[int], delay: float) -> None:
    """Give claimed rows back untried (a busy chat); they are due again after `delay` seconds."""
    for row_id in outbox_ids:
        row = await session.get(OutboxMessage, row_id)
        if row is not None and row.status == OutboxStatus.SENDING:
            row.status = OutboxStatus.PENDING
            row.attempts = max(0, row.attempts - 1)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    platform_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


async def record_result(session: AsyncSession, outbox_id: int, result: DeliveryResult) -> None:
    """Sent, retried later with backoff (honouring `retry_after`), or dead."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:  # the resident was forgotten meanwhile
        return
    now = utcnow()
    if result.ok:
        row.status, row.sent_at = OutboxStatus.SENT, now
        row.platform_message_id, row.last_error = result.platform_message_id, None
        return
    row.last_error = (result.error or "unknown error")[:1000]
    if result.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.DEAD
        return
    delay = (
        result.retry_after
        if result.retry_after is not None
        else BASE_BACKOFF_SECONDS * 2 ** (row.attempts - 1)
    )
    row.status, row.next_attempt_at = OutboxStatus.PENDING, now + timedelta(seconds=delay)


async def pending_count(session: AsyncSession) -> int:
    from sqlalchemy import func

    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
    )
    return int((await session.scalar(query)) or 0)


async def record_delivery_status(
    session: AsyncSession, channel: str, platform_message_id: str, status: str
) -> bool:
    """Store a delivery receipt (sent, delivered, read, failed) against the outbox row."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.platform_message_id == platform_message_id,
        )
        .values(delivery_status=status)
    )
    return bool(getattr(result, "rowcount", 0))
