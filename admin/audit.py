"""The audit trail: every moderation action is one small event (who, what, when, before, after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import AuditEvent, utcnow
from domain.text import clean


def jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


async def record(
    session: AsyncSession,
    name: str,
    actor: str,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One audit event, in the caller's transaction (action and trace commit together)."""
    session.add(
        AuditEvent(
            name=name[:50],
            actor=clean(actor)[:100],  # a failed login's username is whatever was typed
            created=utcnow(),
            target=clean(target)[:100] if target is not None else None,
            before=jsonable(before),
            after=jsonable(after),
        )
    )


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
