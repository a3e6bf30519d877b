"""A pilot's database upgrades: at revision 0001 with a row in every table, upgraded to head,
every row is still there with the same values, and the models can read it.

Generic over tables and revisions: the 0001 schema is reflected from a database migrated to
0001, each table gets one row of typed values (foreign keys pointing at their parent's row),
and after `upgrade head` every column that still exists is compared. A later revision that
changes values on purpose lists them in CHANGED_ON_PURPOSE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    select,
)

from domain.db import Database, alembic_config
from domain.models import Base
from tests.conftest import BACKEND, new_pg_database

FIRST = "0001"
CHANGED_ON_PURPOSE: dict[str, set[str]] = {}  # table -> columns a later revision rewrites
pytestmark = pytest.mark.db


@pytest.fixture
async def empty_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all, on the backend of this run."""
    if BACKEND != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pilot.db'}"
        return
    async with new_pg_database("rumourbot_upgrade") as url:
        yield url


def _value(table: Table, column: Any, parents: dict[str, dict[str, Any]]) -> Any:
    for fk in column.foreign_keys:
        return parents[fk.column.table.name][fk.column.name]
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float | Numeric):
        return 0.5
    if isinstance(kind, DateTime):
        return datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    if isinstance(kind, JSON):
        return {"kept": [1, "two"]}
    if isinstance(kind, LargeBinary):
        return b"\x00\x01kept"
    if isinstance(kind, String):  # links look like links: a revision may drop other schemes
        text = f"{table.name}.{column.name}"
        if column.name.endswith("url"):
            text = f"https://example.org/{table.name}/{column.name}"
        return text[: kind.length or 200]
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r})")


def _fill(connection: Connection) -> dict[str, dict[str, Any]]:
    """One row in every table of the current schema; returns them by table."""
    meta = MetaData()
    meta.reflect(connection)
    rows: dict[str, dict[str, Any]] = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {c.name: _value(table, c, rows) for c in table.columns}
        connection.execute(table.insert().values(**row))
        rows[table.name] = row
    return rows


def _same(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite keeps no offset: compare as naive UTC
        return (value.astimezone(UTC) if value.tzinfo else value).replace(tzinfo=None)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _read_back(connection: Connection, rows: dict[str, dict[str, Any]]) -> list[str]:
    """What differs after the upgrade, as readable lines (empty when everything survived)."""
    meta = MetaData()
    meta.reflect(connection)
    problems = []
    for name, row in rows.items():
        table = meta.tables.get(name)
        if table is None:
            problems.append(f"table {name} is gone")
            continue
        key = {c.name: row[c.name] for c in table.primary_key.columns if c.name in row}
        query = select(table).where(*(table.c[k] == v for k, v in key.items()))
        found = connection.execute(query).mappings().all()
        if len(found) != 1:
            problems.append(f"{name}: {len(found)} rows where 1 was")
            continue
        skip = CHANGED_ON_PURPOSE.get(name, set())
        for column, before in row.items():
            if column in table.c and column not in skip:
                after = found[0][column]
                if _same(after) != _same(before):
                    problems.append(f"{name}.{column}: {before!r} became {after!r}")
    return problems


def _models_can_read(connection: Connection, filled: set[str]) -> list[str]:
    """Every model's columns can be selected; tables filled at 0001 still show their row
    (tables added by later revisions may be empty)."""
    unread = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        first = connection.execute(select(*table.columns)).first()  # type: ignore[attr-defined]
        if first is None and table.name in filled:  # type: ignore[attr-defined]
            unread.append(table.name)  # type: ignore[attr-defined]
    return unread


async def test_a_database_at_0001_with_data_upgrades_to_head_keeping_it(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), FIRST))
            rows = await conn.run_sync(_fill)
        assert len(rows) == 15, sorted(rows)  # 0001 made 15 tables: each holds a row
        await db.migrate()  # what `rumourbot migrate` and every process start do
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_read_back, rows) == []
            assert await conn.run_sync(_models_can_read, set(rows)) == []
    finally:
        await db.dispose()
