"""Panel fixtures: staff accounts, a logged-in HTTP client on the real app, queued rumours."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from admin.auth import create_user
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from domain.db import Database
from domain.messages import Media, OutboundMessage
from domain.models import (
    Cluster,
    ClusterStatus,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Request,
    Resident,
    utcnow,
)
from domain.outbox import enqueue
from domain.residents import resident_for
from domain.settings import Settings
from matching import Embedder
from tests.admin.alerting import smtp  # noqa: F401 (the fake SMTP server, a fixture)
from tests.conftest import resident_says
from tests.fakes.telegram_api import FakeTelegram

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def add_user(runtime: Runtime, username: str, role: str, password: str = PASSWORD) -> None:
    async with runtime.services.db.session() as session:
        await create_user(session, username, password, role)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


async def ask(
    runtime: Runtime, chat: str, text: str, language: str = "en", media: tuple[Media, ...] = ()
) -> None:
    """A resident forwards a rumour through the web chat channel."""
    await resident_says(runtime, chat, text, forwarded=True, hint=language, media=media)


@asynccontextmanager
async def web_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the process's web app (the panel mounted at /admin, the web chat at
    /chat), not logged in."""
    transport = httpx.ASGITransport(app=Starlette(routes=runtime.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(runtime) as http:
        yield http


async def logged_in(runtime: Runtime, client: httpx.AsyncClient, role: str) -> httpx.AsyncClient:
    await add_user(runtime, role, role)
    response = await login(client, role)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
async def moderator(runtime: Runtime, client: httpx.AsyncClient) -> httpx.AsyncClient:
    return await logged_in(runtime, client, "moderator")


@pytest.fixture
async def admin(runtime: Runtime, client: httpx.AsyncClient) -> httpx.AsyncClient:
    return await logged_in(runtime, client, "admin")


@pytest.fixture
async def viewer(runtime: Runtime, client: httpx.AsyncClient) -> httpx.AsyncClient:
    return await logged_in(runtime, client, "viewer")


async def seed(
    runtime: Runtime,
    text: str,
    chats: list[str],
    language: str = "en",
    minutes_ago: float = 0,
    topic: str | None = None,
    channel: str = "webchat",
    media: list[dict[str, str]] | None = None,
) -> int:
    """A queued cluster with one request per chat, written as the claim desk writes them.

    The queue's ranking and filters are tested on clusters of known shape, independent of how
    the matching engine happens to group a handful of test sentences.
    """
    when = utcnow() - timedelta(minutes=minutes_ago)
    async with runtime.services.db.session() as session:
        cluster = Cluster(
            representative_text=text,
            status=ClusterStatus.NEW,
            ask_count=len(chats),
            first_seen_at=when,
            last_seen_at=when,
            topic=topic,
        )
        session.add(cluster)
        await session.flush()
        for chat in chats:
            resident = await add_request(
                session,
                channel,
                chat,
                text=text,
                language=language,
                outcome="queue",
                cluster_id=cluster.id,
                received_at=when,
                media=media or [],
                forwarded=True,
            )
            resident.language = language
        cluster_id = cluster.id
    await runtime.services.clusters.refresh()
    return cluster_id


async def add_request(session: AsyncSession, channel: str, chat: str, **values: Any) -> Resident:
    """A request from `chat` on `channel` (no files nor candidates unless given): its resident."""
    resident = await resident_for(session, channel, chat)
    session.add(
        Request(
            resident_id=resident.id, channel=channel, **{"media": [], "candidates": [], **values}
        )
    )
    return resident


async def undelivered(
    runtime: Runtime,
    chat: str,
    text: str,
    status: OutboxStatus = OutboxStatus.DEAD,
    error: str | None = "Forbidden: bot was blocked by the user",
    kind: OutboxKind = OutboxKind.REPLY,
    attempts: int = 8,
) -> int:
    """A message to a web chat resident, queued and left as delivery leaves a failed one.

    Queued and marked in one transaction, so the running dispatcher never sees it pending.
    """
    async with runtime.services.db.session() as session:
        resident = await resident_for(session, "webchat", chat)
        await enqueue(session, resident, OutboundMessage(chat_id=chat, text=text), kind)
        row = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.resident_id == resident.id)
                .order_by(OutboxMessage.id.desc())
            )
        ).first()
        assert row is not None
        row.status, row.last_error, row.attempts = status, error, attempts
        return row.id


@pytest.fixture
async def telegram_runtime(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> AsyncIterator[Runtime]:
    """A whole process with the Telegram channel polling the fake Bot API server."""
    fake.reset()
    tg = settings.model_copy(
        update={
            "telegram_token": SecretStr(fake.token),
            "telegram_api_url": fake.api_url,
            "telegram_file_url": fake.file_url,
            "telegram_mode": "polling",
        }
    )
    async with running_with(tg, database, embedder) as rt:
        yield rt


@asynccontextmanager
async def running_with(
    city: Settings, database: Database, embedder: Embedder
) -> AsyncIterator[Runtime]:
    """A whole process with `city`'s settings, on the test database."""
    rt = Runtime(city, services=build_services(city, db=database, embedder=embedder))
    async with rt.running():
        yield rt


@pytest.fixture
async def city(
    request: pytest.FixtureRequest, settings: Settings, database: Database, embedder: Embedder
) -> AsyncIterator[Runtime]:
    """A whole process with the settings the test module gives in `CITY = {...}` (its own
    time zone, say)."""
    async with running_with(
        settings.model_copy(update=request.module.CITY), database, embedder
    ) as rt:
        yield rt
