"""WhatsApp's 24-hour customer-service window, seen from questions still waiting for staff.

When a resident's question is still unanswered late in their window (23 hours after they last
wrote, `RUMOURBOT_WHATSAPP_WINDOW_REMINDER_HOURS`), they get one "we are still checking"
message while free-form messages may still reach them; the answer, when staff publish it after
the window has closed, goes out as the approved template (as CheckMate does). Once per window:
the outbox's dedup key carries the time of the message that opened it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import replies
from bot.texts.catalogue import resolve_language
from domain.models import OPEN_STATUSES, Cluster, OutboxKind, Request, Resident
from domain.outbox import enqueue

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
SAFETY = timedelta(minutes=5)  # too close to the end: it might arrive after the window closed
LOOKBACK = timedelta(days=7)  # questions older than this were told "still checking" before
REMINDER = "still_checking"


async def remind_before_window_closes(session: AsyncSession, after: timedelta,
                                      now: datetime) -> int:
    """Queue the "still checking" message for each WhatsApp resident whose window is between
    `after` and its last minutes old and who has a question still open; returns how many."""
    if after <= timedelta(0):
        return 0
    queued = 0
    for resident in await _waiting(session, after, now):
        assert resident.last_inbound_at is not None  # noqa: S101 - selected on it
        language = resolve_language(resident.language)
        message = replies.plain(resident.chat_id, REMINDER, language)
        key = f"window:{resident.id}:{int(resident.last_inbound_at.timestamp())}"
        queued += await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return queued


async def _waiting(session: AsyncSession, after: timedelta, now: datetime) -> list[Resident]:
    """Residents late in their window with a question staff have not answered yet."""
    open_question = exists().where(
        Request.resident_id == Resident.id,
        Request.outcome == "queue",
        Request.answered_at.is_(None),
        Request.received_at >= now - LOOKBACK,
        Request.cluster_id == Cluster.id,
        Cluster.status.in_(OPEN_STATUSES),
    )
    query = select(Resident).where(
        Resident.channel == CHANNEL,
        Resident.opted_out.is_(False),
        Resident.blocked.is_(False),
        Resident.last_inbound_at <= now - after,
        Resident.last_inbound_at > now - WINDOW + SAFETY,
        open_question,
    )
    return list((await session.scalars(query.limit(1000))).all())
