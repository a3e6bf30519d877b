"""Subscriber counts and the verified-update composer."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import unquote

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, Resident
from domain.residents import resident_for
from tests.admin.conftest import csrf_of


async def subscribe(runtime: Runtime, chat: str, topics: list[str], language: str) -> None:
    async with runtime.services.db.session() as session:
        resident = await resident_for(session, "webchat", chat)
        resident.topics, resident.language = topics, language


async def test_counts_and_broadcast(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await subscribe(runtime, "inf1", ["health", "water"], "en")
    await subscribe(runtime, "inf2", ["health"], "sw")
    await subscribe(runtime, "other", ["water"], "en")
    page = await moderator.get("/admin/subscribers")
    assert page.status_code == 200 and "3 residents" in page.text
    csrf = csrf_of(page.text)
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    form = {
        "csrf_token": csrf,
        "key": key.group(1),
        "topic": "health",
        "body_en": "Vaccines at every clinic from Monday.",
        "body_sw": "Chanjo katika kila kliniki kuanzia Jumatatu.",
        "source_url": "https://health.example.org/vaccines",
    }
    preview = await moderator.post("/admin/subscribers/broadcast", data=form)
    assert preview.status_code == 200 and "Send to 2 subscribers?" in preview.text
    assert "Chanzo: https://health.example.org/vaccines" in preview.text  # the source line
    assert runtime.webchat_outbox.sent["inf1"] == []  # a preview sends nothing
    response = await moderator.post("/admin/subscribers/broadcast", data={**form, "action": "send"})
    assert response.status_code == 303 and "2%20subscribers" in response.headers["location"]
    # the same form sent again (double click, back button): nothing is sent twice
    again = await moderator.post("/admin/subscribers/broadcast", data={**form, "action": "send"})
    assert "already sent to 2 subscribers" in unquote(again.headers["location"])
    history = (await moderator.get("/admin/broadcasts")).text
    assert "Vaccines at every clinic" in history and "2 subscribers" in history
    assert "Vaccines at every clinic" in (await runtime.webchat_outbox.wait_for("inf1", 1))[-1].text
    assert "Chanjo katika" in (await runtime.webchat_outbox.wait_for("inf2", 1))[-1].text
    assert runtime.webchat_outbox.sent["other"] == []
    await asyncio.sleep(0.3)
    assert len(runtime.webchat_outbox.sent["inf1"]) == 1
    async with runtime.services.db.session() as session:
        event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "broadcast"))
        ).one()
        assert event.after["recipients"] == 2 and event.target == "topic:health"
        assert len((await session.scalars(select(Resident))).all()) == 3


async def test_bad_broadcasts_are_refused(
    runtime: Runtime,
    moderator: httpx.AsyncClient,
) -> None:
    csrf = csrf_of((await moderator.get("/admin/subscribers")).text)
    empty = await moderator.post(
        "/admin/subscribers/broadcast", data={"csrf_token": csrf, "topic": "health"}
    )
    assert empty.status_code == 400 and "at least one language" in empty.text
    unknown = await moderator.post(
        "/admin/subscribers/broadcast", data={"csrf_token": csrf, "topic": "gossip", "body_en": "x"}
    )
    assert unknown.status_code == 400 and "Choose a topic." in unknown.text


async def test_viewer_cannot_broadcast(viewer: httpx.AsyncClient) -> None:
    csrf = csrf_of((await viewer.get("/admin/subscribers")).text)
    response = await viewer.post(
        "/admin/subscribers/broadcast", data={"csrf_token": csrf, "topic": "health", "body_en": "x"}
    )
    assert response.status_code == 403
