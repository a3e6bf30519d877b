"""A question offered candidates is in the queue at once, marked "awaiting the resident"."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import Request
from tests.admin.conftest import seed


async def test_the_queue_shows_questions_awaiting_the_resident(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    waiting = await seed(runtime, "Schools close for a month because of cholera", ["r1", "r2"])
    await seed(runtime, "The bridge on river road collapsed", ["r3"])
    async with runtime.services.db.session() as session:  # as the claim desk writes a suggestion
        for request in await session.scalars(select(Request).where(Request.cluster_id == waiting)):
            request.outcome = "suggest"
    page = await viewer.get("/admin/")
    assert page.status_code == 200
    rows = page.text.split("<tr>")
    [schools] = [row for row in rows if "Schools close" in row]
    [bridge] = [row for row in rows if "bridge on river road" in row]
    assert "awaiting the resident (2)" in schools and "awaiting the resident" not in bridge
