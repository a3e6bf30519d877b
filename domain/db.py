"""Database engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import Pool

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATE_LOCK = 0x72756D6F  # any constant shared by every process of the product
# A pooled connection idle longer than this is tested before use (the server may have restarted
# or a firewall dropped it); one in steady use is not: asyncpg's ping is three round trips
# (BEGIN, a query, ROLLBACK), and a busy process checks connections out several times per
# message. A connection broken while in use fails that one operation, and SQLAlchemy then
# replaces every pooled connection opened before the failure.
PING_AFTER_IDLE_SECONDS = 10.0


class UnknownRevision(Exception):
    """The database is at a revision this version does not have (made by a newer version)."""


class StorageUnavailable(Exception):
    """The database cannot be reached; callers answer 503 so platforms redeliver later."""


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the database is down", not "this query is wrong"."""
    if isinstance(exc, StorageUnavailable | OSError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return (
            exc.connection_invalidated
            or isinstance(exc, InterfaceError)
            or (isinstance(exc, OperationalError) and "locked" not in str(exc).lower())
        )
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Take SQLite's write lock at the start of every transaction.

    The driver would otherwise run a transaction's first SELECT outside any transaction, so
    two processes could read the same outbox rows before either marks them; with BEGIN
    IMMEDIATE transactions queue on the lock (busy_timeout) instead of racing.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL, a busy timeout and real transactions."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine.sync_engine.pool)
    return engine


def _ping_when_idle(pool: Pool) -> None:
    """`pool_pre_ping`, but only for connections that sat idle in the pool for a while."""

    @event.listens_for(pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool replaces the connection and checks out again
            raise DisconnectionError("pooled connection is gone") from exc


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@dataclass(frozen=True)
class MigrationPlan:
    """Where the schema is, where the code wants it, and the revisions in between."""

    current: str | None  # None: an empty database
    head: str
    pending: tuple[tuple[str, str], ...]  # (revision, what it changes), oldest first


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def _plan(connection: Connection) -> MigrationPlan:
    scripts = ScriptDirectory.from_config(alembic_config())
    current = MigrationContext.configure(connection).get_current_revision()
    head = scripts.get_current_head() or ""
    if current is not None and not _known(scripts, current):
        raise UnknownRevision(
            f"the database is at revision {current}, which this version does not know "
            "(it was made by a newer rumourbot): install that version or restore an older backup"
        )
    steps = reversed(list(scripts.iterate_revisions(head, current)))
    pending = tuple((s.revision, (s.doc or "").strip()) for s in steps)
    return MigrationPlan(current, head, pending)


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


_BEFORE_COMMIT = "rumourbot_before_commit"


def before_commit(session: AsyncSession, hook: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run `hook` in `session`'s transaction just before `Database.session` commits it (not
    at all when the transaction fails, nor in an `autocommit` session)."""
    session.info.setdefault(_BEFORE_COMMIT, []).append(hook)


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision.

        On PostgreSQL, processes starting together (web and workers) take turns under an
        advisory lock; DDL is transactional there, so the second finds the work done.
        """
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await conn.execute(lock, {"key": MIGRATE_LOCK})
            await conn.run_sync(_upgrade)

    async def migration_plan(self) -> MigrationPlan:
        async with self.engine.connect() as conn:
            return await conn.run_sync(_plan)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error. The hooks
        registered with `before_commit` run, in order, just before the commit."""
        async with self.sessions() as session, session.begin():
            yield session
            for hook in session.info.pop(_BEFORE_COMMIT, ()):
                await hook(session)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """A session whose statements each commit on their own, for one write that needs no
        transaction around it: on PostgreSQL that is one round trip instead of three (BEGIN,
        the statement, COMMIT). SQLite gets an ordinary transaction (`session`)."""
        if self.is_sqlite:
            async with self.session() as session:
                yield session
            return
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
