"""The hostile suite: each input a probe used to break the service, and what users see now.

Fixtures are the product's own (a real runtime on SQLite or PostgreSQL, its ASGI app); the
fakes are only at the network edge. Faults inside the database (a statement that always fails)
are made with a trigger, a real database feature, not by patching our modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from bot.runtime.app import Runtime
from domain.db import Database


@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the whole process's app (webhooks, web chat, feeds, panel)."""
    transport = httpx.ASGITransport(app=runtime.asgi(), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
        yield http


async def fail_inserts(
    db: Database, table: str, column: str, prefix: str, event: str = "INSERT"
) -> None:
    """Make every INSERT (or UPDATE) of `table` whose new `column` starts with `prefix` fail,
    as a broken constraint or a full disk would: the turn fails, and so does any apology."""
    async with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execute(
                text(
                    f"CREATE TRIGGER hostile_{table} BEFORE {event} ON {table} "
                    f"WHEN NEW.{column} LIKE '{prefix}%' BEGIN SELECT RAISE(ABORT, 'poison'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION hostile_{table}() RETURNS trigger AS $$ "
                    f"BEGIN IF NEW.{column} LIKE '{prefix}%' THEN RAISE EXCEPTION 'poison'; "
                    "END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(
                    f"CREATE TRIGGER hostile_{table} BEFORE {event} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION hostile_{table}()"
                )
            )


async def drop_fault(db: Database, table: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                f"DROP TRIGGER IF EXISTS hostile_{table}"
                + ("" if conn.dialect.name == "sqlite" else f" ON {table}")
            )
        )


@pytest.fixture
async def poison(database: Database) -> AsyncIterator[object]:
    """`await poison(table, column, prefix)`; the trigger is dropped after the test."""
    made: list[str] = []

    async def make(table: str, column: str, prefix: str, event: str = "INSERT") -> None:
        await fail_inserts(database, table, column, prefix, event)
        made.append(table)

    yield make
    for table in made:
        await drop_fault(database, table)


async def push_source(runtime: Runtime, name: str = "cms") -> dict[str, str]:
    """A push source; the Authorization header its CMS would send."""
    from factcheck_connectors import manage

    status = await manage.add_source(runtime.services, "push", name, {"language": "en"})
    return {"Authorization": f"Bearer {status.token}"}
