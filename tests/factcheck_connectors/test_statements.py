"""City statements: RSS/Atom (conditional GET, broken dates), CSV files, and the push endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.conversation.services import Services
from domain.models import ItemStatus, KnowledgeItem
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.runner import Runner
from factcheck_connectors.web import routes
from tests.factcheck_connectors.conftest import FakeWeb, payload

RSS = "https://city.example/press.xml"
ATOM = "https://city.example/sw/press.atom"


async def rows(services: Services) -> list[KnowledgeItem]:
    async with services.db.session() as session:
        return list((await session.scalars(select(KnowledgeItem).order_by(KnowledgeItem.id))).all())


async def test_rss_statements_with_conditional_get(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    web.serve(
        RSS,
        payload("press.rss"),
        headers={"ETag": 'W/"abc"', "Last-Modified": "Wed, 04 Nov 2026 16:00:00 GMT"},
    )
    status = await manage.add_source(services, "rss", "city-press", {"url": RSS}, client=client)
    assert status.items_total == 2
    water, curfew = await rows(services)
    assert water.kind == "statement" and water.verdict == "true" and water.topic == "water"
    assert (
        water.explanation
        == "Water supply in Eastlands was fully restored at 6am after planned maintenance."
    )
    assert water.publisher == "City of Demo: press releases" and water.language == "en"
    assert curfew.external_id == "press-2026-118"
    assert curfew.published_at and curfew.published_at.isoformat() == "2026-11-04T15:30:00+00:00"
    web.on(
        RSS,
        lambda r: (
            httpx.Response(304)
            if r.headers.get("If-None-Match") == 'W/"abc"'
            else httpx.Response(200, content=payload("press.rss"))
        ),
    )
    report = await runner.run_source("city-press")
    assert report.ok and report.fetched == 0
    web.serve(RSS, payload("press.rss"))  # server forgot the validators: same entries, none new
    report = await runner.run_source("city-press")
    assert report.ok and report.fetched == 0 and report.changed == 0


async def test_atom_and_a_feed_with_broken_dates(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(ATOM, payload("press.atom"))
    web.serve(RSS, payload("press_broken_dates.rss"))
    await manage.add_source(services, "rss", "city-sw", {"url": ATOM}, client=client)
    await manage.add_source(
        services, "rss", "city-press", {"url": RSS, "topic": "health"}, client=client
    )
    umeme, clinics, garbage = await rows(services)
    assert umeme.language == "sw" and umeme.source_url == "https://city.example/sw/press/umeme"
    assert clinics.published_at is None and garbage.published_at is None
    assert clinics.topic == "health"
    assert len(services.knowledge) == 3


async def test_not_a_feed_is_refused(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(RSS, payload("no_markup.html"))
    with pytest.raises(SourceInvalid, match="not an RSS or Atom feed"):
        await manage.add_source(services, "rss", "city", {"url": RSS}, client=client)
    web.serve(RSS, "gone", status=404)
    with pytest.raises(SourceInvalid, match="404"):
        await manage.add_source(services, "rss", "city", {"url": RSS}, client=client)
    with pytest.raises(SourceInvalid, match="unknown field"):
        await manage.add_source(services, "rss", "city", {"url": RSS, "colour": "red"})


async def test_csv_file_import_and_retirement(
    services: Services, tmp_path: Path, runner: Runner
) -> None:
    path = tmp_path / "statements.csv"
    path.write_bytes(payload("statements.csv"))
    status = await manage.add_source(services, "csv", "city-csv", {"location": str(path)})
    assert status.items_total == 2
    assert {r.topic for r in await rows(services)} == {"waste", "transport"}
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")  # st-2 withdrawn
    report = await runner.run_source("city-csv")
    assert report.ok and report.retired == 1
    statuses = {r.external_id: r.status for r in await rows(services)}
    assert statuses == {"st-1": ItemStatus.ACTIVE, "st-2": ItemStatus.RETIRED}
    path.write_text("id,claim\nst-9,\n")
    report = await runner.run_source("city-csv")
    assert not report.ok and "row 1" in (report.error or "")
    assert {r.external_id: r.status for r in await rows(services)} == statuses


async def test_push_endpoint(services: Services) -> None:
    status = await manage.add_source(services, "push", "cms", {"language": "sw"})
    assert status.token and status.state == "push" and status.config["token"] == "••••••"
    again = await manage.list_sources(services.db)
    assert again[0].token is None
    app = Starlette(routes=routes(services))
    url = "/api/sources/cms/statements"
    body = {
        "statements": [
            {
                "id": "n-1",
                "claim": "Mitihani ya kitaifa imeahirishwa hadi Januari",
                "verdict": "false",
                "explanation": "Mitihani itaendelea kama kawaida.",
                "url": "https://city.example/sw/n-1",
                "topic": "education",
            }
        ]
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.post(url, json=body)).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await http.post(url, json=body, headers=wrong)).status_code == 401
        auth = {"Authorization": f"Bearer {status.token}"}
        bad = await http.post(url, json={"statements": [{"claim": "no id"}]}, headers=auth)
        assert bad.status_code == 422 and "needs an 'id'" in bad.json()["error"]
        assert (await http.post(url, content=b"{", headers=auth)).status_code == 400
        unknown = await http.post(url, json=body, headers=auth)  # not one of the city's
        assert unknown.status_code == 422
        assert unknown.json()["error"] == (
            "statement 1: unknown topic 'education'; this city's topics are: "
            "water, health, elections, security, scams, transport, waste"
        )
        assert await rows(services) == []
        body["statements"][0]["topic"] = "waste"
        ok = await http.post(url, json=body, headers=auth)
        assert ok.status_code == 200 and ok.json()["changed"] == 1
        (item,) = await rows(services)
        assert item.language == "sw" and item.kind == "statement" and item.origin == "source:cms"
        assert len(services.knowledge) == 1
        gone = await http.post(url, json={"retired": ["n-1"]}, headers=auth)
        assert gone.json()["retired"] == 1 and len(services.knowledge) == 0
        spec = (await http.get("/api/openapi.json")).json()
        assert "/api/sources/{name}/statements" in spec["paths"]
    (status,) = await manage.list_sources(services.db)
    assert status.last_success_at is not None and status.items_total == 0
