"""Backing up and restoring the database.

SQLite: Python's `sqlite3` online backup API copies a consistent snapshot while the bot keeps
running (readers and writers are not stopped; WAL mode included). PostgreSQL: `pg_dump`, the
tool made for it, in its custom format (restored with `pg_restore`); nothing here re-implements
a dump. Restoring SQLite replaces the file only after the backup passes an integrity check,
and keeps the replaced file beside it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump / pg_restore from PATH, no shell
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore could not be made; the message says why, for the operator."""


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore and the environment carrying its password, so the
    password never appears in a process listing."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
        parsed = parsed.set(password=None)
    return parsed.render_as_string(hide_password=False), env


def check_sqlite(path: Path) -> None:
    """Raise BackupError unless `path` is a readable SQLite database that passes its check."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from exc
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} failed its integrity check: {result}")


def backup_sqlite(source: Path, destination: Path) -> Path:
    """A consistent copy of `source` at `destination`, taken while the bot may be writing."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    if destination.is_dir():
        destination = destination / f"{source.stem}-{stamp()}.db"
    if destination.exists():
        raise BackupError(f"{destination} exists already; choose another name")
    partial = destination.with_name(destination.name + ".partial")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)  # copies page by page; writers in other processes keep going
    check_sqlite(partial)
    partial.rename(destination)
    return destination


def restore_sqlite(backup: Path, target: Path) -> Path | None:
    """Put `backup` in place of the database at `target` (the bot must be stopped).

    Returns where the replaced database was kept (None when there was none).
    """
    check_sqlite(backup)
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.replaced-{stamp()}")
        target.rename(kept)
    for suffix in ("-wal", "-shm"):  # the old file's journal must not be replayed into the new
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(backup, partial)
    partial.rename(target)
    return kept


@dataclass(frozen=True)
class PgCommand:
    argv: list[str]
    env: dict[str, str]

    def run(self) -> None:
        if shutil.which(self.argv[0]) is None:
            raise BackupError(f"{self.argv[0]} is not installed")
        done = subprocess.run(self.argv, env=self.env, capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            raise BackupError(f"{self.argv[0]} failed: {done.stderr.strip()[-500:]}")


def pg_dump_command(url: str, destination: Path) -> PgCommand:
    target, env = libpq(url)
    return PgCommand(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={destination}", target], env
    )


def pg_restore_command(url: str, backup: Path) -> PgCommand:
    target, env = libpq(url)
    argv = ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={target}", str(backup)]
    return PgCommand(argv, env)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
