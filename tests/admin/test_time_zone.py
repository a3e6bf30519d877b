"""Times in the city's zone, labelled, everywhere the panel shows them; the dashboard's charts
inline and its numbers from one set of SQL aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from domain.db import Database
from domain.models import Request
from domain.settings import Settings
from matching import Embedder
from tests.admin.conftest import logged_in, seed


@pytest.fixture
async def nairobi(
    settings: Settings, database: Database, embedder: Embedder
) -> AsyncIterator[Runtime]:
    city = settings.model_copy(update={"time_zone": "Africa/Nairobi"})
    rt = Runtime(city, services=build_services(city, db=database, embedder=embedder))
    async with rt.running():
        yield rt


async def test_times_are_shown_in_the_city_time_zone(nairobi: Runtime) -> None:
    cluster = await seed(nairobi, "The market will close at noon", ["n1"])
    zone = ZoneInfo("Africa/Nairobi")
    today = datetime.now(zone).date()
    # 00:30 in Nairobi today is 21:30 UTC the day before
    local = datetime.combine(today, time(0, 30), tzinfo=zone)
    async with nairobi.services.db.session() as session:
        await session.execute(update(Request).values(received_at=local.astimezone(UTC)))
    label = local.strftime("%d %b") + " 00:30 EAT"
    transport = httpx.ASGITransport(app=Starlette(routes=nairobi.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        moderator = await logged_in(nairobi, client, "moderator")
        page = (await moderator.get(f"/admin/clusters/{cluster}")).text
        assert label in page
        queue = (await moderator.get("/admin/")).text
        assert label in queue
        dashboard = (await moderator.get("/admin/dashboard")).text
        assert "days in Africa/Nairobi" in dashboard
        assert dashboard.count("<svg") == 5 and "<img" not in dashboard
        day = local.strftime("%d %b")
        assert f"<title>{day}: 1</title>" in dashboard  # counted on the Nairobi day
