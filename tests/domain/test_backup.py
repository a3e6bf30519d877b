"""`rumourbot migrate`, `backup` and `restore` as an operator runs them: SQLite backed up while
another process writes, a disaster, the restore; PostgreSQL through pg_dump / pg_restore."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bot.runtime.cli import app as cli
from domain.db import Database, alembic_config
from domain.settings import get_settings
from tests.conftest import new_pg_database

RESIDENT = (
    "INSERT INTO residents (channel, chat_id, topics, opted_out, blocked, created_at) "
    "VALUES ('telegram', ?, '[]', 0, 0, '2026-01-01 00:00:00')"
)


@pytest.fixture
def rumourbot(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Runs `rumourbot ARGS` against the database URL given (settings read afresh)."""

    def run(url: str, *args: str) -> Result:
        monkeypatch.setenv("RUMOURBOT_DATABASE_URL", url)
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args))

    yield run
    get_settings.cache_clear()


def residents(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM residents").fetchone()[0])


def test_sqlite_backup_while_writing_then_restore(rumourbot: object, tmp_path: Path) -> None:
    run = rumourbot  # type: ignore[assignment]
    live = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{live}"
    created = run(url, "migrate")
    assert created.exit_code == 0, created.output
    assert "empty database: creating the schema at revision" in created.output
    assert "backed up" not in created.output  # nothing to keep yet
    assert "nothing to do" in run(url, "migrate").output
    with closing(sqlite3.connect(live)) as conn, conn:
        conn.executemany(RESIDENT, [(f"c{n}",) for n in range(3000)])

    stop, errors, written = threading.Event(), [], [0]

    def writer() -> None:  # another process of the bot, still answering residents
        with closing(sqlite3.connect(live, timeout=10)) as conn:
            while not stop.is_set():
                try:
                    with conn:
                        conn.execute(RESIDENT, (f"w{written[0]}",))
                    written[0] += 1
                except sqlite3.Error as exc:
                    errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        (tmp_path / "backups").mkdir()
        made = run(url, "backup", str(tmp_path / "backups"))
    finally:
        stop.set()
        thread.join()
    assert made.exit_code == 0, made.output
    assert errors == [] and written[0] > 0
    [copy] = list((tmp_path / "backups").glob("*.db"))
    saved = residents(copy)
    assert 3000 <= saved <= 3000 + written[0]

    with closing(sqlite3.connect(live)) as conn, conn:  # the disaster
        conn.execute("DELETE FROM residents")
    refused = run(url, "restore", str(tmp_path / "backups"), "--yes")
    assert refused.exit_code != 0  # a directory is not a backup
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    bad = run(url, "restore", str(junk), "--yes")
    assert bad.exit_code == 2 and "not a SQLite database" in bad.output
    assert residents(live) == 0  # untouched by the refused restore

    restored = run(url, "restore", str(copy), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output and "kept at" in restored.output
    assert residents(live) == saved
    assert len(list(tmp_path.glob("live.db.replaced-*"))) == 1
    again = run(url, "backup", str(copy))
    assert again.exit_code == 2 and "exists already" in again.output


def test_migrate_says_what_it_does_and_backs_up_sqlite_first(
    rumourbot: object, tmp_path: Path
) -> None:
    """A pilot database at 0001 (once later revisions exist, they are applied after a backup)."""
    run = rumourbot  # type: ignore[assignment]
    pilot = tmp_path / "pilot.db"
    url = f"sqlite+aiosqlite:///{pilot}"

    async def at_first_revision() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
        await db.dispose()

    asyncio.run(at_first_revision())
    dry = run(url, "migrate", "--dry-run")
    assert dry.exit_code == 0 and f"database: {url}" in dry.output
    done = run(url, "migrate")
    assert done.exit_code == 0, done.output
    if "nothing to do" in dry.output:  # this version's head is 0001
        assert "the database is at revision 0001, the newest" in done.output
        assert not list(tmp_path.glob("pilot.before-*"))
    else:
        assert "the database is at revision 0001; upgrading to" in dry.output
        assert "backed up to" in done.output and "done: the database is at revision" in done.output
        [copy] = list(tmp_path.glob("pilot.before-*.db"))
        with closing(sqlite3.connect(copy)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    with closing(sqlite3.connect(pilot)) as conn, conn:  # as a newer version would leave it
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    newer = run(url, "migrate")
    assert newer.exit_code == 2
    assert "revision 9999, which this version does not know" in newer.output


@pytest.fixture
async def empty_pg_url() -> AsyncIterator[str]:
    async with new_pg_database("rumourbot_backup") as url:
        yield url


async def _sql(url: str, statement: str) -> object:
    db = Database(url)
    try:
        async with db.session() as session:
            return (await session.execute(text(statement))).scalar()
    finally:
        await db.dispose()


def sql(url: str, statement: str) -> object:
    return asyncio.run(_sql(url, statement))


@pytest.mark.postgres
def test_postgres_backup_with_pg_dump_and_restore(
    rumourbot: object, empty_pg_url: str, tmp_path: Path
) -> None:
    run, url = rumourbot, empty_pg_url  # type: ignore[assignment]
    assert run(url, "migrate").exit_code == 0
    sql(
        url,
        "INSERT INTO residents (channel, chat_id, topics, opted_out, blocked, created_at) "
        "SELECT 'telegram', 'c' || n, '[]', false, false, now() "
        "FROM generate_series(1, 500) AS n RETURNING 1",
    )
    dump = tmp_path / "city.dump"
    made = run(url, "backup", str(dump))
    assert made.exit_code == 0, made.output
    assert dump.read_bytes()[:5] == b"PGDMP"
    sql(url, "DELETE FROM residents RETURNING 1")
    restored = run(url, "restore", str(dump), "--yes")
    assert restored.exit_code == 0, restored.output
    assert sql(url, "SELECT count(*) FROM residents") == 500
