"""Outbox operations: enqueue in the caller's transaction, claim due rows, record results."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import Integer, Table, bindparam, exists, func, select, text, true, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter

from domain.db import before_commit
from domain.leases import PROCESS_ID
from domain.messages import OutboundMessage
from domain.models import (
    PRIORITY,
    Lease,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Resident,
    utcnow,
)
from domain.sql import insert_ignoring_duplicates, is_postgresql
from domain.text import clip

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0

log = logging.getLogger(__name__)


async def enqueue(
    session: AsyncSession,
    resident: Resident,
    message: OutboundMessage,
    kind: OutboxKind = OutboxKind.REPLY,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue `message` for `resident`; False when `dedup_key` was already queued (sent once).

    `not_before` holds it back until then (a paced broadcast's slot)."""
    queued = await insert_ignoring_duplicates(
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
            "next_attempt_at": not_before or utcnow(),
            "created_at": utcnow(),
        },
    )
    if queued:
        count = session.info[_QUEUED] = session.info.get(_QUEUED, 0) + 1
        if count == BULK_ROWS:
            before_commit(session, refresh_statistics)
    return queued


# Queued in one transaction, this many rows change the outbox's size by orders of magnitude (a
# broadcast, the askers of a viral cluster told its answer): the planner's statistics are
# refreshed with them (`refresh_statistics`, before that transaction commits).
BULK_ROWS = 500
_QUEUED = "rumourbot_outbox_queued"


async def refresh_statistics(session: AsyncSession) -> None:
    """After `BULK_ROWS` or more rows went into the outbox in this transaction, let PostgreSQL
    sample the table again, before the commit makes the rows due.

    Without it the planner still believes the outbox holds the few rows it held before, and
    plans the claim's check "an earlier message to this resident waits" as a walk over every
    pending row for each pending row: a claim of 50 took 530 ms with 4,000 broadcast rows
    queued (and grows with the square of a broadcast) until autovacuum caught up, while a claim
    planned on fresh statistics (one pass, hashed) took a few milliseconds. ANALYZE counts this
    transaction's own rows. Best effort: a busy table (autovacuum) or a role that does not own
    it leaves the statistics as they were."""
    if not is_postgresql(session):
        return
    try:
        async with session.begin_nested():
            await session.execute(text("SET LOCAL lock_timeout = '1s'"))
            await session.execute(text("ANALYZE outbox"))
            await session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    except SQLAlchemyError as exc:
        log.warning("outbox statistics not refreshed (%s)", type(exc).__name__)


async def mark_started(session: AsyncSession, outbox_id: int, worker: str = PROCESS_ID) -> bool:
    """Record that `worker` is about to call the platform; False when the row is no longer ours.

    Committed before the call, this splits a dead worker's rows into "never tried" (sent again
    at once) and "in doubt" (the platform may have it), and fences off a worker that was
    presumed dead: it finds the row taken and does not send.
    """
    result = await session.execute(
        _MARK_STARTED, {"row_id": outbox_id, "worker": worker, "now": utcnow()}
    )
    return bool(getattr(result, "rowcount", 0))


async def release(
    session: AsyncSession, outbox_ids: Sequence[int], delay: float, worker: str = PROCESS_ID
) -> None:
    """Give claimed rows back untried (a busy chat, a shutdown); due again after `delay` s."""
    if not outbox_ids:
        return
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(outbox_ids)),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_by == worker,
            OutboxMessage.send_started_at.is_(None),
        )
        .values(
            status=OutboxStatus.PENDING,
            claimed_by=None,
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
        .execution_options(synchronize_session=False)
    )


Throttle = Literal["chat", "channel"]  # who must slow down: this one chat, or the whole channel


@dataclass(frozen=True)
class DeliveryResult:
    """What one send came to, as a channel reports it and the row records it: the platform's
    message id, or why it did not go. A `throttled` send (a platform limit) is due again after
    `retry_after` without counting as an attempt; `opted_out` is the platform saying the
    resident stopped our messages."""

    ok: bool
    platform_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    throttled: Throttle | None = None
    opted_out: bool = False


async def record_result(
    session: AsyncSession, outbox_id: int, result: DeliveryResult, worker: str | None = None
) -> None:
    """Sent, retried later with backoff (honouring `retry_after`), or dead.

    With `worker`, only that worker's claim is updated (a row taken over meanwhile is left to
    its new owner); a row marked in doubt is settled by the late answer.
    """
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:  # the resident was forgotten meanwhile
        return
    if worker is not None and row.claimed_by != worker:
        return
    if row.status not in (OutboxStatus.SENDING, OutboxStatus.IN_DOUBT):
        return
    now = utcnow()
    row.claimed_by, row.send_started_at = None, None
    if result.ok:
        row.status, row.sent_at = OutboxStatus.SENT, now
        row.platform_message_id, row.last_error = clip(result.platform_message_id, 100), None
        return
    row.last_error = clip(result.error, 1000) or "unknown error"
    if result.throttled and not result.permanent:
        row.attempts = max(0, row.attempts - 1)
    if result.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.DEAD
        return
    delay = (
        result.retry_after
        if result.retry_after is not None
        else BASE_BACKOFF_SECONDS * 2 ** (row.attempts - 1)
    )
    row.status, row.next_attempt_at = OutboxStatus.PENDING, now + timedelta(seconds=delay)


class ClaimedRow(NamedTuple):
    """A claimed row as the dispatcher needs it (no ORM object: a worker claims thousands)."""

    id: int
    channel: str
    chat_id: str
    priority: int
    payload: dict[str, object]
    resident_id: int | None


_OUTBOX = cast(Table, OutboxMessage.__table__)


async def claim_batch(
    session: AsyncSession,
    limit: int = 50,
    now: datetime | None = None,
    channels: Sequence[str] | None = None,
    worker: str = PROCESS_ID,
) -> list[ClaimedRow]:
    """Mark up to `limit` due rows as being sent by `worker`, in one statement: UPDATE ...
    WHERE id IN (the due rows) RETURNING them.

    Run it in `Database.autocommit()`: on PostgreSQL one round trip claims the whole batch
    (the sub-select skips rows other workers hold, `FOR UPDATE SKIP LOCKED`), instead of
    BEGIN, a SELECT, an UPDATE per row and COMMIT. Highest priority first, then oldest.
    """
    statement = claim_statement(channels is not None, skip_locked=is_postgresql(session))
    parameters = claim_parameters(limit, now or utcnow(), channels, worker)
    rows = [ClaimedRow(*row) for row in (await session.execute(statement, parameters)).all()]
    return sorted(rows, key=lambda r: (r.priority, r.id))


def claim_parameters(
    limit: int, now: datetime, channels: Sequence[str] | None, worker: str
) -> dict[str, object]:
    """The values of a `claim_statement`'s bind parameters."""
    values: dict[str, object] = {"claim_limit": limit, "claim_now": now, "claim_worker": worker}
    if channels is not None:
        values["claim_channels"] = list(channels)
    return values


def _waiting_ahead(now: BindParameter[datetime]) -> Any:
    """An older message to the same resident, as urgent or more, given back to wait (a busy
    chat, a retry): its followers wait for it, so a resident never reads "too long to check"
    before "I am listening to your voice note". Looked up through the resident index; rows
    without a resident are not ordered."""
    ahead = _OUTBOX.alias("ahead")
    return select(ahead.c.id).where(
        ahead.c.resident_id == _OUTBOX.c.resident_id,
        ahead.c.id < _OUTBOX.c.id,
        ahead.c.priority <= _OUTBOX.c.priority,
        ahead.c.status == OutboxStatus.PENDING.value,
        ahead.c.next_attempt_at > now,
    )


@functools.cache
def claim_statement(by_channel: bool, skip_locked: bool) -> ReturningUpdate[Any]:
    """The UPDATE of `claim_batch`, RETURNING the columns of `ClaimedRow` in its order (for
    callers that build on it, such as a claim that reads the recipients in the same round
    trip on PostgreSQL). Its values are bind parameters (`claim_parameters`), so each of the
    four shapes is built, and its SQLAlchemy cache key computed, once per process (building
    both per claim cost about 1.3 ms on an idle core)."""
    now = bindparam("claim_now", type_=_OUTBOX.c.next_attempt_at.type)
    due = (
        select(_OUTBOX.c.id)
        .where(_OUTBOX.c.status == OutboxStatus.PENDING.value, _OUTBOX.c.next_attempt_at <= now)
        .where(
            _OUTBOX.c.channel.in_(bindparam("claim_channels", expanding=True))
            if by_channel
            else true()
        )
        .where(~exists(_waiting_ahead(now)))
        .order_by(_OUTBOX.c.priority, _OUTBOX.c.id)
        .limit(bindparam("claim_limit", type_=Integer))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.SENDING.value,
            claimed_by=bindparam("claim_worker", type_=_OUTBOX.c.claimed_by.type),
            send_started_at=None,
            next_attempt_at=now,
            attempts=_OUTBOX.c.attempts + 1,
        )
        .returning(
            _OUTBOX.c.id, _OUTBOX.c.channel, _OUTBOX.c.chat_id, _OUTBOX.c.priority,
            _OUTBOX.c.payload, _OUTBOX.c.resident_id,
        )
    )


async def mark_started_many(
    session: AsyncSession, outbox_ids: Sequence[int], worker: str = PROCESS_ID
) -> set[int]:
    """`mark_started` for several rows in one statement; returns the ids still ours.

    Each row's mark must be committed before its platform call: run it in
    `Database.autocommit()` (one round trip on PostgreSQL) and send only what it returned.
    """
    if not outbox_ids:
        return set()
    statement = (
        update(_OUTBOX)
        .where(
            _OUTBOX.c.id.in_(list(outbox_ids)),
            _OUTBOX.c.status == OutboxStatus.SENDING.value,
            _OUTBOX.c.claimed_by == worker,
        )
        .values(send_started_at=utcnow())
        .returning(_OUTBOX.c.id)
    )
    return set((await session.scalars(statement)).all())


# built once (a Core statement with bind parameters: compiled once, no ORM session sync);
# the dispatcher runs it before every platform call
_MARK_STARTED = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("row_id"),
        _OUTBOX.c.status == OutboxStatus.SENDING.value,
        _OUTBOX.c.claimed_by == bindparam("worker"),
    )
    .values(send_started_at=bindparam("now"))
)


_RECORD_SENT = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("row_id"),
        _OUTBOX.c.claimed_by == bindparam("worker"),
        # not IN (...): an expanding list cannot go in an executemany
        (_OUTBOX.c.status == OutboxStatus.SENDING.value)
        | (_OUTBOX.c.status == OutboxStatus.IN_DOUBT.value),
    )
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("now"),
        platform_message_id=bindparam("platform_id"),
        claimed_by=None,
        send_started_at=None,
        last_error=None,
    )
)


async def record_results(
    session: AsyncSession, results: Sequence[tuple[int, DeliveryResult]], worker: str
) -> None:
    """`record_result` for many rows of one worker: the sent ones in one executemany (one
    round trip on PostgreSQL), the failures (rare) one by one with their backoff."""
    now = utcnow()
    sent = [
        {"row_id": outbox_id, "worker": worker, "now": now,
         "platform_id": clip(result.platform_message_id, 100)}
        for outbox_id, result in results
        if result.ok
    ]
    if sent:
        await session.execute(_RECORD_SENT, sent)
    for outbox_id, result in results:
        if not result.ok:
            await record_result(session, outbox_id, result, worker)


UNRECORDED_NOTE = "sent, but the result could not be recorded"


async def unrecorded(
    session: AsyncSession, outbox_id: int, delivered: bool, worker: str = PROCESS_ID
) -> None:
    """A row whose platform call finished but whose result cannot be written: in doubt when
    it was delivered (staff decide; never silently sent twice), due again when it failed."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_by == worker,
        )
        .values(
            status=OutboxStatus.IN_DOUBT if delivered else OutboxStatus.PENDING,
            claimed_by=None,
            send_started_at=None,
            next_attempt_at=utcnow() + timedelta(seconds=BASE_BACKOFF_SECONDS),
            last_error=UNRECORDED_NOTE if delivered else "the result could not be recorded",
        )
        .execution_options(synchronize_session=False)
    )


class Recovered(NamedTuple):
    returned: int  # claimed but never tried: due again now
    in_doubt: int  # the platform call had started: marked in doubt (or queued again)


async def recover_orphans(
    session: AsyncSession, resend_in_doubt: bool = False, now: datetime | None = None
) -> Recovered:
    """Hand back the rows of workers whose heartbeat lease has expired (killed, frozen, cut off).

    A row its worker never started on is due again at once. A row whose platform call had
    started may or may not have reached the platform, and neither Telegram nor Meta lets us ask:
    by default it is marked in doubt rather than sent twice, and staff see it in the panel;
    `resend_in_doubt` prefers a possible duplicate to a possible gap.
    """
    now = now or utcnow()
    alive = exists().where(Lease.name == OutboxMessage.claimed_by, Lease.expires_at >= now)
    orphan = (OutboxMessage.status == OutboxStatus.SENDING) & ~alive
    returned = await session.execute(
        update(OutboxMessage)
        .where(orphan, OutboxMessage.send_started_at.is_(None))
        .values(
            status=OutboxStatus.PENDING,
            claimed_by=None,
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    doubtful = await session.execute(
        update(OutboxMessage)
        .where(orphan, OutboxMessage.send_started_at.is_not(None))
        .values(
            status=OutboxStatus.PENDING if resend_in_doubt else OutboxStatus.IN_DOUBT,
            claimed_by=None,
            send_started_at=None,
            next_attempt_at=now,
            last_error=IN_DOUBT_NOTE,
        )
        .execution_options(synchronize_session=False)
    )
    return Recovered(_rowcount(returned), _rowcount(doubtful))


IN_DOUBT_NOTE = "the worker stopped while the platform was being called"


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def needing_attention(session: AsyncSession, limit: int = 200) -> list[OutboxMessage]:
    """Dead and in-doubt messages, newest first: what the panel's delivery page lists."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.DEAD, OutboxStatus.IN_DOUBT]))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def send_again(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    """Queue a dead or in-doubt message again with a fresh set of attempts."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None or row.status not in (OutboxStatus.DEAD, OutboxStatus.IN_DOUBT):
        return None
    row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, utcnow()
    return row


async def discard(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    """Staff decided a dead or in-doubt message is not to be sent again."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None or row.status not in (OutboxStatus.DEAD, OutboxStatus.IN_DOUBT):
        return None
    row.status = OutboxStatus.DISCARDED
    return row


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """How many outbox rows are in each status."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {str(status): int(count) for status, count in (await session.execute(query)).all()}


async def pending_count(session: AsyncSession) -> int:
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
