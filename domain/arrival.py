"""A webhook's message arriving: its inbox row and its resident, in one round trip.

`Conversation.answer_before_acknowledging` stores the inbox row inside the turn's transaction
(`domain.inbox.accept_processing`) and then finds or creates the resident
(`domain.residents.resident_arriving`). On PostgreSQL both go in one statement: the inbox
INSERT is a data-modifying CTE, and the resident's upsert runs only when that INSERT stored a
row, so a redelivery touches no resident. The statement always returns one row: whether the
inbox row was stored, and the resident's columns (NULL when the upsert returned nothing: a
blocked resident, read then by a query). Other databases run the two statements.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, literal_column, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.inbox import accept_processing
from domain.messages import InboundMessage
from domain.models import InboxMessage, Resident, utcnow
from domain.residents import COLUMNS, persistent, resident_arriving, same_instant
from domain.sql import is_postgresql

_INBOX = cast(Table, InboxMessage.__table__)
_RESIDENTS = cast(Table, Resident.__table__)
# the resident columns a first contact writes (the rest take their defaults)
_NEW = ("channel", "chat_id", "language", "language_source", "language_pending",
        "language_pending_count", "consent_at", "topics", "opted_out", "blocked",
        "last_inbound_at", "created_at")


async def arrive(
    session: AsyncSession, message: InboundMessage, new: dict[str, Any] | None = None
) -> tuple[Resident, bool] | None:
    """Store `message` as processed (as `accept_processing`) and find or create its sender
    (as `resident_arriving` with `seen_at` = its arrival); None when the message was stored
    before (a redelivery). Returns the resident and whether this call created them."""
    if not is_postgresql(session):
        if not await accept_processing(session, message):
            return None
        return await resident_arriving(session, message.channel, message.sender,
                                       seen_at=message.received_at, new=new)
    now = utcnow()
    values = {"language": None, "language_source": None, "language_pending": None,
              "language_pending_count": 0, "consent_at": None, **(new or {})}
    params = {
        "in_channel": message.channel,
        "in_platform_id": message.message_id,
        "in_now": now,
        "r_channel": message.channel,
        "r_chat_id": message.sender,
        "r_topics": [],
        "r_opted_out": False,
        "r_blocked": False,
        "r_last_inbound_at": message.received_at,
        "r_created_at": now,
        **{f"r_{key}": value for key, value in values.items()},
    }
    row = (await session.execute(_arrival_statement(), params)).one()
    if not row[0]:
        return None
    if row.id is None:  # blocked: the upsert changed nothing and returned nothing
        return await resident_arriving(session, message.channel, message.sender)
    resident = persistent(session, row[1:])
    return resident, same_instant(resident.created_at, now)


@cache
def _arrival_statement() -> Any:
    """WITH stored AS (INSERT INTO inbox ... ON CONFLICT DO NOTHING RETURNING id),
    seen AS (INSERT INTO residents SELECT ... WHERE EXISTS (SELECT FROM stored)
             ON CONFLICT (channel, chat_id) DO UPDATE SET last_inbound_at ... WHERE NOT blocked
             RETURNING residents.*)
    SELECT (SELECT count(*) FROM stored), seen.* FROM (SELECT 1) LEFT JOIN seen ON true.
    Built once: parameters carry every value."""
    inbox = (
        postgresql.insert(_INBOX)
        .values(
            channel=bindparam("in_channel", type_=_INBOX.c.channel.type),
            platform_id=bindparam("in_platform_id", type_=_INBOX.c.platform_id.type),
            payload=bindparam("in_payload", value={}, type_=_INBOX.c.payload.type),
            received_at=bindparam("in_now", type_=_INBOX.c.received_at.type),
            processed_at=bindparam("in_now", type_=_INBOX.c.processed_at.type),
            attempts=1,
            next_attempt_at=bindparam("in_now", type_=_INBOX.c.next_attempt_at.type),
        )
        .on_conflict_do_nothing()
        .returning(_INBOX.c.id)
        .cte("stored")
    )
    columns = [_RESIDENTS.c[name] for name in _NEW]
    source = select(
        *(bindparam(f"r_{c.name}", type_=c.type) for c in columns)
    ).where(exists(select(inbox.c.id)))
    insert = postgresql.insert(_RESIDENTS).from_select(columns, source)
    seen = (
        insert.on_conflict_do_update(
            index_elements=[_RESIDENTS.c.channel, _RESIDENTS.c.chat_id],
            set_={"last_inbound_at": insert.excluded.last_inbound_at},
            where=_RESIDENTS.c.blocked.is_(False),
        )
        .returning(*(column for _, column in COLUMNS))
        .cte("seen")
    )
    stored = select(func.count()).select_from(inbox).scalar_subquery()
    one = select(literal_column("1").label("one")).subquery("one")
    return select(stored, *(seen.c[column.name] for _, column in COLUMNS)).select_from(
        one.outerjoin(seen, true())
    )

