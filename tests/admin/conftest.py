"""Panel fixtures: staff accounts, a logged-in HTTP client on the real app, queued rumours."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from admin.auth import create_user
from bot.app import Runtime
from domain.messages import InboundMessage, Media

PASSWORD = "correct horse battery"
_ids = itertools.count(1)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def add_user(runtime: Runtime, username: str, role: str, password: str = PASSWORD) -> None:
    async with runtime.services.db.session() as session:
        await create_user(session, username, password, role)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post("/admin/login", data={"username": username, "password": password,
                                                   "csrf_token": csrf_of(page.text)})


async def ask(runtime: Runtime, chat: str, text: str, language: str = "en",
              media: tuple[Media, ...] = ()) -> None:
    """A resident forwards a rumour through the web chat channel."""
    before = len(runtime.webchat_outbox.sent[chat])
    await runtime.conversation.handle(InboundMessage(
        channel="webchat", sender=chat, message_id=f"adm{next(_ids)}", text=text, media=media,
        forwarded=True, language_hint=language))
    await runtime.webchat_outbox.wait_for(chat, before + 1)


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the process's web app (the panel mounted at /admin), not logged in."""
    app = Starlette(routes=runtime.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
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
