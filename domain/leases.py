"""Time-limited leases in the database: one holder per job name until it expires or is released.

A worker that dies simply lets its lease expire, and another worker takes over.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import delete, update

from domain.db import Database
from domain.models import Lease, utcnow
from domain.sql import insert_ignoring_duplicates

PROCESS_ID = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def acquire(db: Database, name: str, ttl: timedelta, holder: str = PROCESS_ID) -> bool:
    """Take (or renew) the lease `name`; False while another holder's lease is still valid."""
    now = utcnow()
    async with db.session() as session:
        if await insert_ignoring_duplicates(
            session,
            Lease.__table__,  # type: ignore[arg-type]
            {"name": name, "holder": holder, "expires_at": now + ttl},
        ):
            return True
        result = await session.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
            .values(holder=holder, expires_at=now + ttl)
        )
        return bool(getattr(result, "rowcount", 0))


async def release(db: Database, name: str, holder: str = PROCESS_ID) -> None:
    async with db.session() as session:
        await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


@asynccontextmanager
async def leased(db: Database, name: str, ttl: timedelta) -> AsyncIterator[bool]:
    """`async with leased(db, "sync:feed", ttl) as mine:` — do the work only when `mine`."""
    mine = await acquire(db, name, ttl)
    try:
        yield mine
    finally:
        if mine:
            await release(db, name)
