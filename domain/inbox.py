"""The inbox: accept an inbound message durably (and once), then mark it processed.

Attempts are counted outside the turn's transaction (the insert counts the first, `claim_due`
each retry), so a turn that fails and rolls back still leaves its count. Each attempt moves the
row's due time forward (`RETRY_SECONDS`, doubling), recovery takes rows by due time, and after
`max_attempts` a row is given up (`dead_at`): a message that keeps failing neither loops
forever nor keeps real crash recovery waiting behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import InboundMessage
from domain.models import InboxMessage, utcnow
from domain.sql import dialect_of


async def accept(
    session: AsyncSession, message: InboundMessage, retry_seconds: float | None = None
) -> bool:
    """Store `message`; False when this platform id was accepted before (a redelivery)."""
    now = utcnow()
    result = await session.execute(
        _accept_statement(dialect_of(session)),
        {
            "channel": message.channel,
            "platform_id": message.message_id,
            "payload": message.to_payload(),
            "received_at": now,
            "attempts": 1,  # the live attempt, counted before it can fail
            "next_attempt_at": now + timedelta(seconds=retry_seconds or RETRY_SECONDS),
        },
    )
    return bool(getattr(result, "rowcount", 0))


async def accept_processing(session: AsyncSession, message: InboundMessage) -> bool:
    """Store `message` as processed, in the caller's turn transaction; False when this
    platform id was stored before (a redelivery, or a row `recover` will finish).

    For a caller that acknowledges the message only after that transaction commits (a
    webhook answering once the turn is done): the row and the turn commit together, one
    statement instead of the two of `accept` then `start_processing`. Rolled back, nothing
    was acknowledged either, so the platform delivers again (or the caller `accept`s it)."""
    now = utcnow()
    result = await session.execute(
        _accept_statement(dialect_of(session)),
        {
            "channel": message.channel,
            "platform_id": message.message_id,
            "payload": {},  # what `start_processing` leaves: the turn's rows keep what counts
            "received_at": now,
            "processed_at": now,
            "attempts": 1,
            "next_attempt_at": now,
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
    .values(processed_at=bindparam("now"), payload={})
)
RETRY_SECONDS = 30.0  # a live turn's head start before recovery may try the message again
MAX_RETRY_SECONDS = 3600.0


@cache
def _accept_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING into the inbox (columns from the parameters)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(_INBOX).on_conflict_do_nothing()


async def unprocessed(
    session: AsyncSession, older_than: timedelta, limit: int = 100, now: datetime | None = None
) -> list[InboundMessage]:
    """Accepted messages nobody finished and not given up, received before `older_than` ago."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(InboxMessage)
        .where(
            InboxMessage.processed_at.is_(None),
            InboxMessage.dead_at.is_(None),
            InboxMessage.received_at <= cutoff,
        )
        .order_by(InboxMessage.received_at)
        .limit(limit)
    )
    rows = (await session.scalars(query)).all()
    return [InboundMessage.from_payload(r.payload) for r in rows]


def retry_delay(attempts: int, base: float = RETRY_SECONDS) -> float:
    """Seconds before the next try after `attempts` tries: 30 s, 60 s, 120 s ... at most 1 h."""
    return float(min(MAX_RETRY_SECONDS, base * 2 ** max(0, attempts - 1)))


async def due_ids(session: AsyncSession, limit: int, now: datetime | None = None) -> list[int]:
    """Rows recovery should try now, the longest-waiting first."""
    query = (
        select(InboxMessage.id)
        .where(
            InboxMessage.processed_at.is_(None),
            InboxMessage.dead_at.is_(None),
            InboxMessage.next_attempt_at <= (now or utcnow()),
        )
        .order_by(InboxMessage.next_attempt_at, InboxMessage.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def claim_due(
    session: AsyncSession,
    row_id: int,
    max_attempts: int,
    now: datetime | None = None,
    base: float = RETRY_SECONDS,
) -> InboundMessage | None:
    """Count one more attempt at row `row_id` and return its message; None when another
    process claimed it first, when it was given up now (too many attempts), or when its
    payload cannot be read (given up as well)."""
    now = now or utcnow()
    due = (
        (InboxMessage.id == row_id)
        & InboxMessage.processed_at.is_(None)
        & InboxMessage.dead_at.is_(None)
        & (InboxMessage.next_attempt_at <= now)
    )
    row = (
        await session.execute(select(InboxMessage.attempts, InboxMessage.payload).where(due))
    ).first()
    if row is None:
        return None
    attempts, payload = row
    if attempts >= max_attempts:
        await give_up(session, row_id, f"gave up after {attempts} attempts", now)
        return None
    claimed = await session.execute(
        update(InboxMessage)
        .where(due, InboxMessage.attempts == attempts)  # another process may be a step ahead
        .values(
            attempts=attempts + 1,
            next_attempt_at=now + timedelta(seconds=retry_delay(attempts + 1, base)),
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return None
    try:
        return InboundMessage.from_payload(payload)
    except (TypeError, ValueError, KeyError) as exc:
        await give_up(session, row_id, f"unreadable message ({type(exc).__name__})", now)
        return None


async def give_up(
    session: AsyncSession, row_id: int, reason: str, now: datetime | None = None
) -> None:
    await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == row_id, InboxMessage.processed_at.is_(None))
        .values(dead_at=now or utcnow(), last_error=reason[:200])
        .execution_options(synchronize_session=False)
    )


async def note_failure(session: AsyncSession, message: InboundMessage, reason: str) -> None:
    """Keep why the last attempt failed (a class name, never resident text) for staff."""
    await session.execute(
        update(InboxMessage)
        .where(
            InboxMessage.channel == message.channel,
            InboxMessage.platform_id == message.message_id,
            InboxMessage.processed_at.is_(None),
        )
        .values(last_error=reason[:200])
        .execution_options(synchronize_session=False)
    )


async def given_up(session: AsyncSession, limit: int = 100) -> tuple[int, list[InboxMessage]]:
    """How many messages were given up, and the latest `limit` of them (the Delivery page)."""
    dead = InboxMessage.dead_at.is_not(None) & InboxMessage.processed_at.is_(None)
    total = await session.scalar(select(func.count()).select_from(InboxMessage).where(dead))
    rows = await session.scalars(
        select(InboxMessage).where(dead).order_by(InboxMessage.dead_at.desc()).limit(limit)
    )
    return int(total or 0), list(rows.all())
