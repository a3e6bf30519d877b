"""`domain.db.before_commit`: work a transaction must do last (the outbox's statistics after a
bulk enqueue) runs inside it, just before it commits, and not when it fails."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database, before_commit
from domain.models import Resident
from domain.residents import resident_for


async def test_a_hook_runs_inside_the_transaction_just_before_it_commits(
    database: Database,
) -> None:
    seen: list[int] = []

    async def count_residents(session: AsyncSession) -> None:
        seen.append(await session.scalar(select(func.count()).select_from(Resident)) or 0)

    async with database.session() as session:
        await resident_for(session, "webchat", "r1")
        before_commit(session, count_residents)
        assert seen == []  # not yet: the transaction is still writing
    assert seen == [1]  # it saw the transaction's own row


async def test_a_failed_transaction_runs_no_hook(database: Database) -> None:
    ran: list[str] = []

    async def hook(session: AsyncSession) -> None:
        ran.append("hook")

    with pytest.raises(RuntimeError):
        async with database.session() as session:
            before_commit(session, hook)
            raise RuntimeError("the turn failed")
    assert ran == []
    async with database.session() as session:  # a new session starts without hooks
        await resident_for(session, "webchat", "r2")
    assert ran == []
