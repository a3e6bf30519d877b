"""The audit trail: every moderation action is one small event (who, what, when, before, after)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit import jsonable, record
from domain.models import AuditEvent

__all__ = ["events", "jsonable", "record"]


async def events(
    session: AsyncSession,
    actor: str = "",
    name: str = "",
    target: str = "",
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if name:
        query = query.where(AuditEvent.name == name)
    if target:
        query = query.where(AuditEvent.target == target)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())
