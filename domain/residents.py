"""Residents: find-or-create on first contact, preferences, and deleting everything on request."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import OutboxMessage, Request, Resident, utcnow
from domain.sql import insert_ignoring_duplicates


async def resident_for(
    session: AsyncSession, channel: str, chat_id: str, seen_at: datetime | None = None
) -> Resident:
    """The resident behind (channel, chat id), created on first contact.

    With `seen_at` (a message just came in) their `last_inbound_at` is set to it, unless they
    are blocked, in the same statement: one round trip instead of insert, select and update.
    """
    values: dict[str, Any] = {
        "channel": channel,
        "chat_id": chat_id,
        "topics": [],
        "opted_out": False,
        "blocked": False,
        "created_at": utcnow(),
    }
    if seen_at is not None:
        found = await session.scalars(
            _seen_statement(_dialect(session)),
            values | {"last_inbound_at": seen_at},
            execution_options={"populate_existing": True},
        )
        resident: Resident | None = found.one_or_none()
        if resident is not None:
            return resident
    else:
        await insert_ignoring_duplicates(
            session,
            Resident.__table__,  # type: ignore[arg-type]
            values,
        )
    query = select(Resident).where(Resident.channel == channel, Resident.chat_id == chat_id)
    return (await session.scalars(query)).one()


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@cache
def _seen_statement(dialect: str) -> Any:
    """INSERT the resident, or set `last_inbound_at` unless blocked; RETURNING the row.

    Built once (per dialect) and executed with parameters: building the statement costs more
    CPU than running it."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(Resident)
    upsert = insert.on_conflict_do_update(
        index_elements=[Resident.channel, Resident.chat_id],
        set_={"last_inbound_at": insert.excluded.last_inbound_at},
        where=Resident.blocked.is_(False),
    )
    return upsert.returning(Resident)


async def forget(session: AsyncSession, resident: Resident) -> list[str]:
    """Delete the resident, their requests (with their media hashes), feedback, media jobs and
    undelivered messages; returns the names of their stored media files, for the caller to
    delete from the media directory."""
    own = select(Request.media).where(Request.resident_id == resident.id)
    requests = await session.scalars(own)
    files = [str(m["file"]) for media in requests for m in media or () if m.get("file")]
    await session.execute(delete(OutboxMessage).where(OutboxMessage.resident_id == resident.id))
    await session.delete(resident)
    return files


async def blocked_residents(session: AsyncSession) -> list[Resident]:
    query = select(Resident).where(Resident.blocked.is_(True)).order_by(Resident.blocked_at.desc())
    return list((await session.scalars(query)).all())


async def lift_block(session: AsyncSession, resident_id: int) -> Resident | None:
    """Unblock a resident (staff decision); returns None when there is no such resident."""
    resident = await session.get(Resident, resident_id)
    if resident is not None:
        resident.blocked, resident.blocked_at, resident.blocked_reason = False, None, None
    return resident
