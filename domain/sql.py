"""Small dialect-aware helpers (SQLite and PostgreSQL)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    """The session's database dialect name ("sqlite" when it is not bound yet)."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def is_postgresql(session: AsyncSession) -> bool:
    return dialect_of(session) == "postgresql"


async def insert_ignoring_duplicates(
    session: AsyncSession, table: Table, values: dict[str, Any]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted.

    The statement is built once per (dialect, table) and the row goes as parameters: a turn
    writes its reply with it, and building and caching a statement per row costs more CPU than
    running it."""
    result: Any = await session.execute(_insert_ignoring(dialect_of(session), table), values)
    return bool(result.rowcount)


@cache
def _insert_ignoring(dialect: str, table: Table) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()
