"""Knowledge-base pages: list, search, edit, retire, add a city statement."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, KnowledgeItem
from tests.admin.conftest import ask, csrf_of
from tests.conftest import add_item

WATER = "The city will cut off all water supply for two weeks starting Monday."
FIELDS = {
    "claim": WATER,
    "verdict": "false",
    "explanation": "Only a 12-hour cut on Tuesday.",
    "source_url": "https://example.org/fc/1",
    "topic": "water",
    "language": "en",
}


async def add_water(runtime: Runtime) -> int:
    return await add_item(runtime, WATER, external_id="x1")


async def last_event(runtime: Runtime, name: str) -> AuditEvent:
    async with runtime.services.db.session() as session:
        return (await session.scalars(select(AuditEvent).where(AuditEvent.name == name))).one()


async def test_list_and_search(runtime: Runtime, viewer: httpx.AsyncClient) -> None:
    await add_water(runtime)
    assert WATER in (await viewer.get("/admin/knowledge")).text
    assert WATER in (await viewer.get("/admin/knowledge?q=water+supply&kind=factcheck")).text
    assert "Nothing found" in (await viewer.get("/admin/knowledge?q=zebra")).text
    assert (await viewer.get("/admin/knowledge?page=abc&status=weird")).status_code == 200
    page = await viewer.get("/admin/knowledge/1")
    assert page.status_code == 200 and "Retire" not in page.text
    assert (await viewer.get("/admin/knowledge/42")).status_code == 404


async def test_edit_is_audited_and_bad_input_refused(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    item_id = await add_water(runtime)
    csrf = csrf_of((await moderator.get(f"/admin/knowledge/{item_id}")).text)
    edited = {**FIELDS, "explanation": "Only a 12-hour cut in Eastlands.", "csrf_token": csrf}
    assert (await moderator.post(f"/admin/knowledge/{item_id}", data=edited)).status_code == 303
    event = await last_event(runtime, "edit")
    assert event.before["explanation"] == "Not true." and event.after["explanation"].endswith(
        "Eastlands."
    )
    for change in (
        {"verdict": "maybe"},
        {"claim": ""},
        {"source_url": "ftp://x"},
        {"topic": "x"},
        {"language": "xx"},
    ):
        response = await moderator.post(f"/admin/knowledge/{item_id}", data={**edited, **change})
        assert response.status_code == 400, change
    assert (await moderator.post("/admin/knowledge/99", data=edited)).status_code == 404


async def test_retire_stops_automatic_answers(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    item_id = await add_water(runtime)
    csrf = csrf_of((await moderator.get(f"/admin/knowledge/{item_id}")).text)
    assert (
        await moderator.post(f"/admin/knowledge/{item_id}/retire", data={"csrf_token": csrf})
    ).status_code == 303
    async with runtime.services.db.session() as session:
        assert (await session.get(KnowledgeItem, item_id)).status == "retired"
    assert (await last_event(runtime, "retire")).after["status"] == "retired"
    await ask(runtime, "r1", WATER)
    assert not (await runtime.webchat_outbox.wait_for("r1", 1))[-1].text.startswith("❌ FALSE")
    assert (
        await moderator.post("/admin/knowledge/99/retire", data={"csrf_token": csrf})
    ).status_code == 404


async def test_add_a_city_statement_by_hand(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    page = await moderator.get("/admin/knowledge/new")
    csrf = csrf_of(page.text)
    bad = await moderator.post(
        "/admin/knowledge/new", data={**FIELDS, "claim": "", "csrf_token": csrf}
    )
    assert bad.status_code == 400 and "The claim is empty." in bad.text
    response = await moderator.post("/admin/knowledge/new", data={**FIELDS, "csrf_token": csrf})
    assert response.status_code == 303
    async with runtime.services.db.session() as session:
        item = (await session.scalars(select(KnowledgeItem))).one()
    assert item.kind == "statement" and item.origin == "staff-statement"
    assert (await last_event(runtime, "add_statement")).target == f"item:{item.id}"
    await ask(runtime, "r1", "Forwarded: " + WATER)
    assert (await runtime.webchat_outbox.wait_for("r1", 1))[-1].text.startswith("❌ FALSE")


async def test_viewer_cannot_edit(runtime: Runtime, viewer: httpx.AsyncClient) -> None:
    item_id = await add_water(runtime)
    csrf = csrf_of((await viewer.get("/admin/knowledge")).text)
    assert (
        await viewer.post(f"/admin/knowledge/{item_id}", data={**FIELDS, "csrf_token": csrf})
    ).status_code == 403
    assert (
        await viewer.post(f"/admin/knowledge/{item_id}/retire", data={"csrf_token": csrf})
    ).status_code == 403
    assert (await viewer.get("/admin/knowledge/new")).status_code == 403
