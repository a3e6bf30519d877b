"""Residents: find-or-create on first contact, preferences, and deleting everything on request."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import OutboxMessage, Resident, utcnow
from domain.sql import insert_ignoring_duplicates


async def resident_for(session: AsyncSession, channel: str, chat_id: str) -> Resident:
    """The resident behind (channel, chat id), created on first contact."""
    await insert_ignoring_duplicates(
        session,
        Resident.__table__,  # type: ignore[arg-type]
        {
            "channel": channel,
            "chat_id": chat_id,
            "topics": [],
            "opted_out": False,
            "blocked": False,
            "created_at": utcnow(),
        },
    )
    query = select(Resident).where(Resident.channel == channel, Resident.chat_id == chat_id)
    return (await session.scalars(query)).one()


async def forget(session: AsyncSession, resident: Resident) -> None:
    """Delete the resident, their requests, feedback and undelivered messages."""
    await session.execute(delete(OutboxMessage).where(OutboxMessage.resident_id == resident.id))
    await session.delete(resident)


async def blocked_residents(session: AsyncSession) -> list[Resident]:
    query = select(Resident).where(Resident.blocked.is_(True)).order_by(Resident.blocked_at.desc())
    return list((await session.scalars(query)).all())


async def lift_block(session: AsyncSession, resident_id: int) -> Resident | None:
    """Unblock a resident (staff decision); returns None when there is no such resident."""
    resident = await session.get(Resident, resident_id)
    if resident is not None:
        resident.blocked, resident.blocked_at, resident.blocked_reason = False, None, None
    return resident
