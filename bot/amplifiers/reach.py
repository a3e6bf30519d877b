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

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    RESIDENT_ROLE,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    Request,
    Resident,
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
            select(OutboxMessage.status, Resident.opted_out, SubscriberProfile.role,
                   SubscriberProfile.areas)
            .join(Resident, Resident.id == OutboxMessage.resident_id)
            .outerjoin(SubscriberProfile, SubscriberProfile.resident_id == Resident.id)
            .where(OutboxMessage.dedup_key.startswith(_prefix(key), autoescape=True))
        )
        rows: dict[tuple[str, str], ReachRow] = {}
        for status, opted_out, role, areas in (await session.execute(query)).all():
            for area in (areas or [NO_AREA]):
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

