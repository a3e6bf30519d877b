"""Residents: find-or-create on first contact, preferences, and deleting everything on request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from domain.models import OutboxMessage, Request, Resident, utcnow
from domain.sql import dialect_of, insert_ignoring_duplicates


async def resident_for(
    session: AsyncSession, channel: str, chat_id: str, seen_at: datetime | None = None
) -> Resident:
    """The resident behind (channel, chat id), created on first contact.

    With `seen_at` (a message just came in) their `last_inbound_at` is set to it, unless they
    are blocked, in the same statement: one round trip instead of insert, select and update.
    """
    return (await resident_arriving(session, channel, chat_id, seen_at=seen_at))[0]


async def resident_arriving(
    session: AsyncSession, channel: str, chat_id: str, *,
    seen_at: datetime | None = None, new: Mapping[str, Any] | None = None,
) -> tuple[Resident, bool]:
    """`resident_for`, and whether this call created the resident.

    `new` gives column values for a resident created here (the language a first message
    shows, the consent its privacy notice records): written by the INSERT itself, so a first
    contact costs no UPDATE after it; a resident who already exists keeps their own values.
    """
    created_at = utcnow()
    values: dict[str, Any] = {
        "channel": channel,
        "chat_id": chat_id,
        "topics": [],
        "opted_out": False,
        "blocked": False,
        **(new or {}),
        "created_at": created_at,
    }
    if seen_at is not None:
        row = (
            await session.execute(
                _seen_statement(dialect_of(session)), values | {"last_inbound_at": seen_at}
            )
        ).one_or_none()
        if row is not None:
            resident = persistent(session, row)
            return resident, same_instant(resident.created_at, created_at)
        created = False
    else:
        created = await insert_ignoring_duplicates(
            session,
            Resident.__table__,  # type: ignore[arg-type]
            values,
        )
    query = select(Resident).where(Resident.channel == channel, Resident.chat_id == chat_id)
    return (await session.scalars(query)).one(), created


def same_instant(stored: datetime | None, written: datetime) -> bool:
    """Whether the row's `created_at` is the one this call wrote (SQLite returns it naive)."""
    if stored is None:
        return False
    if stored.tzinfo is None:
        return stored == written.replace(tzinfo=None)
    return stored == written


# (attribute, column) of every mapped column, in the order the upsert returns them
COLUMNS = [(prop.key, prop.columns[0]) for prop in inspect(Resident).column_attrs]


@cache
def _seen_statement(dialect: str) -> Any:
    """INSERT the resident, or set `last_inbound_at` unless blocked; RETURNING the row.

    Built once (per dialect) and executed with parameters: building the statement costs more
    CPU than running it. A Core statement: the ORM's RETURNING of an entity costs about 1 ms
    of CPU per message more (its loading plan is set up each time), see `persistent`."""
    table = Resident.__table__
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.channel, table.c.chat_id],
        set_={"last_inbound_at": insert.excluded.last_inbound_at},
        where=table.c.blocked.is_(False),
    )
    return upsert.returning(*(column for _, column in COLUMNS))


def persistent(session: AsyncSession, row: Sequence[Any]) -> Resident:
    """The resident of `row` as a persistent object of `session`, as if loaded by a query
    (changes to it are flushed as an UPDATE); a copy already in the session is refreshed."""
    values = {key: row[i] for i, (key, _) in enumerate(COLUMNS)}
    known = session.identity_map.get(identity_key(Resident, values["id"]))
    if isinstance(known, Resident):  # the same resident earlier in this session: update it
        for key, value in values.items():
            set_committed_value(known, key, value)
        return known
    resident = Resident(**values)
    make_transient_to_detached(resident)
    session.add(resident)
    return resident


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
