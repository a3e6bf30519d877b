"""Times in the city's zone, labelled, everywhere the panel shows them; the dashboard's charts
inline and its numbers from one set of SQL aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.runtime.app import Runtime
from domain.models import Request
from tests.admin.conftest import logged_in, seed, web_client

CITY = {"time_zone": "Africa/Nairobi"}  # for the `city` fixture


async def test_times_are_shown_in_the_city_time_zone(city: Runtime) -> None:
    cluster = await seed(city, "The market will close at noon", ["n1"])
    zone = ZoneInfo("Africa/Nairobi")
    today = (datetime.now(zone) - timedelta(hours=1)).date()  # 00:30 of it is in the past
    # 00:30 in Nairobi today is 21:30 UTC the day before
    local = datetime.combine(today, time(0, 30), tzinfo=zone)
    async with city.services.db.session() as session:
        await session.execute(update(Request).values(received_at=local.astimezone(UTC)))
    label = local.strftime("%d %b") + " 00:30 EAT"
    async with web_client(city) as client:
        moderator = await logged_in(city, client, "moderator")
        page = (await moderator.get(f"/admin/clusters/{cluster}")).text
        assert label in page
        queue = (await moderator.get("/admin/")).text
        assert label in queue
        dashboard = (await moderator.get("/admin/dashboard")).text
        assert "days in Africa/Nairobi" in dashboard
        assert dashboard.count("<svg") == 5 and "<img" not in dashboard
        day = local.strftime("%d %b")
        assert f"<title>{day}: 1</title>" in dashboard  # counted on the Nairobi day
