"""The inbox: accept an inbound message durably (and once), then mark it processed."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import InboundMessage
from domain.models import InboxMessage, utcnow


async def accept(session: AsyncSession, message: InboundMessage) -> bool:
    """Store `message`; False when this platform id was accepted before (a redelivery)."""
    result = await session.execute(
        _accept_statement(_dialect(session)),
        {
            "channel": message.channel,
            "platform_id": message.message_id,
            "payload": message.to_payload(),
            "received_at": utcnow(),
            "attempts": 0,
        },
    )
    return bool(getattr(result, "rowcount", 0))


async def start_processing(session: AsyncSession, message: InboundMessage) -> bool:
    """Claim the row for this turn's transaction; False when it was already processed.

    The update takes the row lock (PostgreSQL) or the write lock (SQLite), so two processes
    recovering the same message cannot both handle it.
    """
    result = await session.execute(
        _START_PROCESSING,
        {"in_channel": message.channel, "in_platform_id": message.message_id, "now": utcnow()},
    )
    return bool(getattr(result, "rowcount", 0))


# Statements built once and executed with parameters (every message runs both: building a
# statement costs more CPU than running it).
_INBOX = cast(Table, InboxMessage.__table__)
_START_PROCESSING = (
    update(_INBOX)
    .where(
        _INBOX.c.channel == bindparam("in_channel"),  # not column names: those would be SET
        _INBOX.c.platform_id == bindparam("in_platform_id"),
        _INBOX.c.processed_at.is_(None),
    )
    .values(processed_at=bindparam("now"), payload={}, attempts=_INBOX.c.attempts + 1)
)


@cache
def _accept_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING into the inbox (columns from the parameters)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(_INBOX).on_conflict_do_nothing()


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


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
