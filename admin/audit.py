"""The audit trail: every moderation action is one small event (who, what, when, before, after)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit import jsonable, record
from domain.db import Database
from domain.models import AuditEvent

__all__ = ["events", "fields", "jsonable", "record", "record_alone"]


def fields(row: object, *names: str) -> dict[str, Any]:
    """`row`'s attributes `names`, as an event's before or after."""
    return {name: getattr(row, name) for name in names}


async def record_alone(
    db: Database, name: str, actor: str, target: str, after: dict[str, Any] | None = None
) -> None:
    """One audit event (nothing before, `after`) in a transaction of its own, for an action
    with nothing to commit beside it here (a connector run, cards queued by the broadcast
    code, a logout)."""
    async with db.session() as session:
        await record(session, name, actor, target, None, after)


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
