"""What `rumourbot migrate`, `backup` and `restore` do, as functions that return what to say."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url

from domain.backup import (
    BackupError,
    backup_sqlite,
    pg_dump_command,
    pg_restore_command,
    restore_sqlite,
    sqlite_path,
    stamp,
)
from domain.db import Database, MigrationPlan

Say = Callable[[str], None]
T = TypeVar("T")


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def describe(plan: MigrationPlan) -> list[str]:
    """The plan in words: where the schema is, where it goes, each revision on the way."""
    if not plan.pending:
        return [f"the database is at revision {plan.current}, the newest: nothing to do"]
    count = f"{len(plan.pending)} revision{'s' if len(plan.pending) > 1 else ''}"
    if plan.current is None:
        lines = [f"empty database: creating the schema at revision {plan.head} ({count})"]
    else:
        lines = [f"the database is at revision {plan.current}; upgrading to {plan.head} ({count}):"]
    return lines + [f"  {revision}  {doc}" for revision, doc in plan.pending]


def migrate(url: str, say: Say, dry_run: bool = False, backup: bool = True) -> MigrationPlan:
    """Say what will change, back up a SQLite database that has a schema, then upgrade."""

    say(f"database: {shown_url(url)}")
    plan = asyncio.run(_on_database(url, Database.migration_plan))
    for line in describe(plan):
        say(line)
    if dry_run or not plan.pending:
        return plan
    path = sqlite_path(url)
    if backup and path is not None and plan.current is not None:
        copy = path.with_name(f"{path.stem}.before-{plan.head}-{stamp()}.db")
        say(f"backed up to {backup_sqlite(path, copy)}")
    elif backup and path is None and plan.current is not None:
        say("PostgreSQL is not backed up by migrate: run `rumourbot backup FILE` first")
    asyncio.run(_on_database(url, Database.migrate))
    say(f"done: the database is at revision {plan.head}")
    return plan


async def _on_database(url: str, action: Callable[[Database], Awaitable[T]]) -> T:
    db = Database(url)
    try:
        return await action(db)
    finally:
        await db.dispose()


def backup(url: str, destination: Path, say: Say) -> Path:
    """A backup of the database at `destination` (SQLite: online; PostgreSQL: pg_dump)."""
    path = sqlite_path(url)
    if path is not None:
        made = backup_sqlite(path, destination)
        say(f"backed up {path} to {made} ({made.stat().st_size} bytes)")
        return made
    command = pg_dump_command(url, destination)
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "pg_dump is not installed here. Install the PostgreSQL client (Debian: apt-get "
            "install postgresql-client, the same major version as the server) or run on the "
            f"database host: pg_dump --format=custom --no-owner --file={destination} "
            f"'{shown_url(url).replace('+asyncpg', '')}'  (the password from PGPASSWORD)"
        )
    command.run()
    say(f"backed up {shown_url(url)} to {destination} with pg_dump (custom format)")
    return destination


def restore(url: str, source: Path, say: Say) -> None:
    """Put a backup in place (the bot must be stopped), then upgrade it to this version."""
    path = sqlite_path(url)
    if path is not None:
        kept = restore_sqlite(source, path)
        if kept is not None:
            say(f"the database it replaced is kept at {kept}")
        say(f"restored {source} to {path}")
    else:
        pg_restore_command(url, source).run()
        say(f"restored {source} into {shown_url(url)} with pg_restore")
    migrate(url, say, backup=False)
