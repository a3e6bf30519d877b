"""The inbox: accept an inbound message durably (and once), then mark it processed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import InboundMessage
from domain.models import InboxMessage, utcnow
from domain.sql import insert_ignoring_duplicates


async def accept(session: AsyncSession, message: InboundMessage) -> bool:
    """Store `message`; False when this platform id was accepted before (a redelivery)."""
    return await insert_ignoring_duplicates(
        session,
        InboxMessage.__table__,  # type: ignore[arg-type]
        {
            "channel": message.channel,
            "platform_id": message.message_id,
            "payload": message.to_payload(),
            "received_at": utcnow(),
            "attempts": 0,
        },
    )


async def start_processing(session: AsyncSession, message: InboundMessage) -> bool:
    """Claim the row for this turn's transaction; False when it was already processed.

    The update takes the row lock (PostgreSQL) or the write lock (SQLite), so two processes
    recovering the same message cannot both handle it.
    """
    result = await session.execute(
        update(InboxMessage)
        .where(
            InboxMessage.channel == message.channel,
            InboxMessage.platform_id == message.message_id,
            InboxMessage.processed_at.is_(None),
        )
        .values(processed_at=utcnow(), payload={}, attempts=InboxMessage.attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0))


async def unprocessed(
    session: AsyncSession, older_than: timedelta, limit: int = 100, now: datetime | None = None
) -> list[InboundMessage]:
    """Accepted messages nobody finished, e.g. because a process died mid-turn."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(InboxMessage)
        .where(InboxMessage.processed_at.is_(None), InboxMessage.received_at <= cutoff)
        .order_by(InboxMessage.received_at)
        .limit(limit)
    )
    rows = (await session.scalars(query)).all()
    return [InboundMessage.from_payload(r.payload) for r in rows]
