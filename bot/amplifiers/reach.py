"""Reach, measured: what came of each invitation and each broadcast.

Per invitation code: the people who joined through it, the messages they sent us (their
requests) and the answers they received. Per broadcast (a topic update or an answer's cards):
its recipients by role and area, delivered, failed, still waiting (paced) and opted out.
Everything is counted from the rows the product already keeps (profiles, requests, the
outbox's one row per recipient and broadcast key), so nothing new about anyone is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    RESIDENT_ROLE,
    Answer,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    Request,
    Resident,
    ShareArrival,
    SubscriberProfile,
)

FAILED = (OutboxStatus.DEAD.value, OutboxStatus.DISCARDED.value)
WAITING = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
NO_AREA = "—"
TARGETED_EVENT = "broadcast.targeted"


@dataclass
class InvitationReach:
    joined: int = 0
    messages: int = 0
    answers: int = 0


@dataclass
class ReachRow:
    """One role and area of a broadcast's recipients."""

    role: str
    area: str
    recipients: int = 0
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    opted_out: int = 0


async def invitation_reach(
    session: AsyncSession, invitation_ids: Sequence[int]
) -> dict[int, InvitationReach]:
    """invitation id -> joined, messages sent, answers received (people still on it)."""
    if not invitation_ids:
        return {}
    found = {i: InvitationReach() for i in invitation_ids}
    joined = (
        select(SubscriberProfile.invitation_id, func.count())
        .where(SubscriberProfile.invitation_id.in_(list(invitation_ids)))
        .group_by(SubscriberProfile.invitation_id)
    )
    for invitation_id, count in (await session.execute(joined)).all():
        if invitation_id is not None:
            found[invitation_id].joined = count
    asked = (
        select(
            SubscriberProfile.invitation_id,
            func.count(Request.id),
            func.count(case((Request.answered_at.is_not(None), Request.id))),
        )
        .join(Request, Request.resident_id == SubscriberProfile.resident_id)
        .where(SubscriberProfile.invitation_id.in_(list(invitation_ids)))
        .group_by(SubscriberProfile.invitation_id)
    )
    for invitation_id, messages, answers in (await session.execute(asked)).all():
        if invitation_id is not None:
            found[invitation_id].messages, found[invitation_id].answers = messages, answers
    return found


def _prefix(key: str) -> str:
    return f"broadcast:{key}:resident:"


async def broadcast_reach(session: AsyncSession, keys: Sequence[str]) -> dict[str, list[ReachRow]]:
    """broadcast key -> its recipients by role and area (a person in two areas counts in
    each), most recipients first."""
    found: dict[str, list[ReachRow]] = {}
    for key in dict.fromkeys(keys):
        query = (
            select(
                OutboxMessage.status,
                Resident.opted_out,
                SubscriberProfile.role,
                SubscriberProfile.areas,
            )
            .join(Resident, Resident.id == OutboxMessage.resident_id)
            .outerjoin(SubscriberProfile, SubscriberProfile.resident_id == Resident.id)
            .where(OutboxMessage.dedup_key.startswith(_prefix(key), autoescape=True))
        )
        rows: dict[tuple[str, str], ReachRow] = {}
        for status, opted_out, role, areas in (await session.execute(query)).all():
            for area in areas or [NO_AREA]:
                role_name = role or RESIDENT_ROLE
                row = rows.setdefault((role_name, area), ReachRow(role_name, area))
                row.recipients += 1
                row.delivered += status == OutboxStatus.SENT.value
                row.failed += status in FAILED
                row.waiting += status in WAITING
                row.opted_out += bool(opted_out)
        found[key] = sorted(rows.values(), key=lambda r: (-r.recipients, r.role, r.area))
    return found


@dataclass
class TargetedBroadcast:
    """An answer's cards sent to chosen roles, areas and languages (from its audit event)."""

    key: str
    answer_id: str
    actor: str
    created: datetime
    chosen: dict[str, Any]
    reach: list[ReachRow] = field(default_factory=list)


async def targeted_broadcasts(session: AsyncSession, limit: int = 50) -> list[TargetedBroadcast]:
    """The latest card broadcasts, newest first, each with its reach (a double click that
    sent nothing more is shown once)."""
    events = (
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.name == TARGETED_EVENT)
            .order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
            .limit(limit * 2)
        )
    ).all()
    shown: dict[str, TargetedBroadcast] = {}
    for event in events:
        after = event.after or {}
        key = after.get("key")
        if not isinstance(key, str) or not key:
            continue
        target = (event.target or "").removeprefix("answer:")
        shown[key] = TargetedBroadcast(key, target, event.actor, event.created, after)
    chosen = list(shown.values())[:limit]
    reach = await broadcast_reach(session, [b.key for b in chosen])
    for broadcast in chosen:
        broadcast.reach = reach.get(broadcast.key, [])
    return chosen


@dataclass
class AnswerReach:
    """Residents an answer reached: sent to them directly (its notifications, share offers,
    card broadcasts, replies to their requests) and new residents who came through a shared
    card's link."""

    direct: int = 0
    shared: int = 0


def _direct_keys(answer_id: int) -> tuple[str, ...]:
    return (
        f"answer:{answer_id}:",
        f"share:{answer_id}:",
        f"report-card:{answer_id}:",
        f"broadcast:answer-{answer_id}-",
    )


async def answer_reach(
    session: AsyncSession,
    answer_ids: Sequence[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, AnswerReach]:
    """answer id -> residents reached directly and through shared links (each resident once
    per answer); `since`/`until` keep what happened in a period (outbox rows by creation)."""
    ids = list(dict.fromkeys(answer_ids))
    found = {i: AnswerReach() for i in ids}
    if not ids:
        return found
    answers = (
        await session.execute(select(Answer.id, Answer.knowledge_item_id).where(Answer.id.in_(ids)))
    ).all()
    for answer_id, item_id in answers:
        sent = select(OutboxMessage.resident_id).where(
            or_(
                *(
                    OutboxMessage.dedup_key.startswith(k, autoescape=True)
                    for k in _direct_keys(answer_id)
                )
            )
        )
        if since is not None:
            sent = sent.where(OutboxMessage.created_at >= since)
        if until is not None:
            sent = sent.where(OutboxMessage.created_at < until)
        replied = select(Request.resident_id).where(
            Request.matched_item_id == item_id, Request.answered_at.is_not(None)
        )
        if since is not None:
            replied = replied.where(Request.answered_at >= since)
        if until is not None:
            replied = replied.where(Request.answered_at < until)
        reached = union(sent, replied).subquery()
        found[answer_id].direct = int(
            await session.scalar(select(func.count()).select_from(reached)) or 0
        )
    shared = select(ShareArrival.answer_id, func.count()).where(ShareArrival.answer_id.in_(ids))
    if since is not None:
        shared = shared.where(ShareArrival.arrived_at >= since)
    if until is not None:
        shared = shared.where(ShareArrival.arrived_at < until)
    for answer_id, count in (await session.execute(shared.group_by(ShareArrival.answer_id))).all():
        found[answer_id].shared = count
    return found


async def period_reach(session: AsyncSession, since: datetime, until: datetime) -> AnswerReach:
    """Every answer's reach in a period: distinct residents sent an answer directly, and new
    residents who came through a shared card's link."""
    keys = ("answer:", "share:", "report-card:", "broadcast:answer-")
    sent = select(OutboxMessage.resident_id).where(
        or_(*(OutboxMessage.dedup_key.startswith(k) for k in keys)),
        OutboxMessage.created_at >= since,
        OutboxMessage.created_at < until,
    )
    replied = select(Request.resident_id).where(
        Request.matched_item_id.is_not(None),
        Request.answered_at >= since,
        Request.answered_at < until,
    )
    reached = union(sent, replied).subquery()
    direct = await session.scalar(select(func.count()).select_from(reached))
    shared = await session.scalar(
        select(func.count(func.distinct(ShareArrival.resident_id))).where(
            ShareArrival.arrived_at >= since, ShareArrival.arrived_at < until
        )
    )
    return AnswerReach(int(direct or 0), int(shared or 0))
