"""What the dispatcher tells channels about recipients, and what it records of their reports.

Channels read and write no database: before a batch is sent the dispatcher reads each
resident's last message time and opt-out (`recipient_states`), and afterwards it stores what
the channel learned: an opt-out (`mark_opted_out`) and delivery receipts (`record_receipts`),
where a failure saying "the 24-hour window is closed" queues the message again as its
approved template, once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import UNKNOWN, Receipt, Recipient
from domain.db import Database
from domain.messages import OutboundMessage
from domain.models import OutboxKind, OutboxMessage, Resident
from domain.outbox import (
    ClaimedRow,
    claim_batch,
    claim_parameters,
    claim_statement,
    enqueue,
    record_delivery_status,
)
from domain.sql import is_postgresql

log = logging.getLogger(__name__)
STATUS_RANK = {"sent": 1, "delivered": 2, "failed": 2, "read": 3}
STATUS_RETRIES = (0.5, 1.0, 2.0)  # a receipt can arrive before the send call has returned


async def recipient_states(
    session: AsyncSession, resident_ids: Iterable[int | None]
) -> dict[int, Recipient]:
    """Each resident's last message time and opt-out, by resident id (one query)."""
    wanted = {i for i in resident_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Resident.id, Resident.last_inbound_at, Resident.opted_out).where(
            Resident.id.in_(wanted)
        )
    )
    return {rid: Recipient(last, bool(out)) for rid, last, out in rows.all()}


_RESIDENTS = cast(Table, Resident.__table__)


@functools.cache
def _claim_joined(by_channel: bool) -> Select[Any]:
    """PostgreSQL's claim with the recipients: built once per shape, as `claim_statement`."""
    claimed = claim_statement(by_channel, skip_locked=True).cte("claimed")
    return select(
        claimed, _RESIDENTS.c.id.label("known_id"), _RESIDENTS.c.last_inbound_at,
        _RESIDENTS.c.opted_out,
    ).select_from(claimed.outerjoin(_RESIDENTS, _RESIDENTS.c.id == claimed.c.resident_id))


async def claim_with_recipients(
    session: AsyncSession,
    limit: int,
    now: datetime,
    channels: Sequence[str] | None,
    worker: str,
) -> list[tuple[ClaimedRow, Recipient]]:
    """`domain.outbox.claim_batch` and `recipient_states` of the claimed rows together.

    On PostgreSQL in one statement and one round trip (the claim's UPDATE ... RETURNING as a
    CTE, its rows joined to their residents); SQLite, which has no UPDATE in a CTE, runs the
    two. Highest priority first, then oldest, as `claim_batch`."""
    if not is_postgresql(session):
        rows = await claim_batch(session, limit, now=now, channels=channels, worker=worker)
        known = await recipient_states(session, (r.resident_id for r in rows))
        return [(r, known.get(r.resident_id or 0, UNKNOWN)) for r in rows]
    query = _claim_joined(channels is not None)
    parameters = claim_parameters(limit, now, channels, worker)
    found = [
        (ClaimedRow(*row[:6]), UNKNOWN if row[6] is None else Recipient(row[7], bool(row[8])))
        for row in (await session.execute(query, parameters)).all()
    ]
    return sorted(found, key=lambda pair: (pair[0].priority, pair[0].id))


async def mark_opted_out(session: AsyncSession, channel: str, chat_id: str) -> None:
    """The platform says this person stopped our messages: no more notifications."""
    await session.execute(
        update(Resident)
        .where(Resident.channel == channel, Resident.chat_id == chat_id)
        .values(opted_out=True)
    )


async def record_receipts(db: Database, channel: str, receipts: list[Receipt]) -> int:
    """Store each receipt; returns how many messages were queued again as templates."""
    queued = 0
    for receipt in receipts:
        try:
            queued += await _record_one(db, channel, receipt)
        except Exception:
            log.exception("could not record a %s delivery receipt", channel)
    return queued


async def _record_one(db: Database, channel: str, receipt: Receipt) -> int:
    if receipt.opted_out:
        async with db.session() as session:
            await mark_opted_out(session, channel, receipt.chat_id)
    for delay in (*STATUS_RETRIES, None):
        async with db.session() as session:
            row = await _sent_row(session, channel, receipt.platform_message_id)
            if row is not None:
                if STATUS_RANK.get(row.delivery_status or "", 0) > STATUS_RANK.get(
                    receipt.status, 0
                ):
                    return 0  # "delivered" arriving after "read"
                await record_delivery_status(
                    session, channel, receipt.platform_message_id, receipt.status
                )
                if receipt.window_closed:
                    return int(await send_as_template(session, row))
                return 0
        if delay is not None:
            await asyncio.sleep(delay)
    return 0


async def _sent_row(session: AsyncSession, channel: str, platform_id: str) -> OutboxMessage | None:
    found = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.platform_message_id == platform_id)
        .limit(1)
    )
    return found.first()


async def send_as_template(session: AsyncSession, row: OutboxMessage) -> bool:
    """Queue the message of `row` again, as its template only (once per row). False when it
    has no template (a plain reply cannot reach someone outside the window) or is one."""
    message = OutboundMessage.from_payload(row.payload)
    if message.template is None or message.as_template or row.resident_id is None:
        return False
    resident = await session.get(Resident, row.resident_id)
    if resident is None or resident.opted_out:
        return False
    again = replace(message, as_template=True, reply_to=None)
    return await enqueue(session, resident, again, OutboxKind(row.kind), f"template:{row.id}")
