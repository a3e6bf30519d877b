"""Google Fact Check Tools `claims:search`: pagination, errors, status, and the live lookup."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.conversation.services import Services
from domain.models import KnowledgeItem
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.live import live_lookup
from factcheck_connectors.runner import Runner
from tests.factcheck_connectors.conftest import FakeWeb, Sleeps, payload, reply, timeout

API = "https://factchecktools.googleapis.com/v1alpha1/claims:search"


@pytest.fixture(autouse=True)
def _api_key(services: Services) -> None:
    services.settings.google_factcheck_api_key = SecretStr("test-key")


def pages(web: FakeWeb) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("pageToken")
        body = payload("google_page2.json" if token == "CAoQAA" else "google_page1.json")
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    web.on(API, handler)


async def claims(services: Services) -> list[KnowledgeItem]:
    async with services.db.session() as session:
        return list((await session.scalars(select(KnowledgeItem).order_by(KnowledgeItem.id))).all())


async def test_pulls_every_page_by_publisher_and_language(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    pages(web)
    status = await manage.add_source(
        services,
        "google_factcheck",
        "google-ac",
        {"publisher_site": "africacheck.org", "language": "en"},
        client=client,
    )
    assert status.items_total == 4 and status.state == "ok"
    first, second = web.hits(API)
    assert first.url.params["reviewPublisherSiteFilter"] == "africacheck.org"
    assert first.url.params["languageCode"] == "en" and first.url.params["key"] == "test-key"
    assert "pageToken" not in first.url.params and second.url.params["pageToken"] == "CAoQAA"
    items = {i.source_url: i for i in await claims(services)}
    assert items["https://pesacheck.org/hot-water-cure-claim-is-false"].verdict == "false"
    assert items["https://africacheck.org/fact-checks/1000-notes"].verdict == "misleading"
    assert items["https://africacheck.org/fact-checks/schools-december"].verdict == "misleading"
    assert all(i.origin == "source:google-ac" for i in items.values())
    decision = await services.knowledge.search("Schools will close for the whole of December", k=1)
    assert decision and decision[0].id == str(
        items["https://africacheck.org/fact-checks/schools-december"].id
    )
    assert "key" not in json.dumps(status.config) or "test-key" not in json.dumps(status.config)


async def test_a_bad_key_is_refused_with_googles_message(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(API, payload("google_bad_key.json"), status=400)
    with pytest.raises(SourceInvalid, match="API key not valid"):
        await manage.add_source(
            services, "google_factcheck", "g", {"query": "water"}, client=client
        )
    assert await manage.list_sources(services.db) == []


async def test_missing_key_and_missing_query_are_refused(
    services: Services, client: httpx.AsyncClient
) -> None:
    with pytest.raises(SourceInvalid, match="query' or 'publisher_site"):
        await manage.add_source(
            services, "google_factcheck", "g", {"language": "en"}, client=client
        )
    services.settings.google_factcheck_api_key = None
    with pytest.raises(SourceInvalid, match="RUMOURBOT_GOOGLE_FACTCHECK_API_KEY"):
        await manage.add_source(services, "google_factcheck", "g", {"query": "x"}, client=client)


async def test_429_with_retry_after_is_retried_then_succeeds(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner, sleeps: Sleeps
) -> None:
    pages(web)
    await manage.add_source(services, "google_factcheck", "g", {"query": "virus"}, client=client)
    web.on(
        API,
        reply("{}", 429, {"Retry-After": "7"}),
        reply(payload("google_page2.json"), headers={"Content-Type": "application/json"}),
    )
    report = await runner.run_source("g")
    assert report.ok and report.attempts == 2 and sleeps == [7.0]
    assert report.unchanged == 1 and report.changed == 0


async def test_outage_then_recovery_status_and_logs_once(
    services: Services,
    web: FakeWeb,
    client: httpx.AsyncClient,
    runner: Runner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pages(web)
    await manage.add_source(services, "google_factcheck", "g", {"query": "virus"}, client=client)
    before = len(await claims(services))
    web.on(API, reply("<html>Backend Error</html>", 503))
    caplog.set_level(logging.DEBUG, logger="factcheck_connectors")
    for _ in range(3):
        report = await runner.run_source("g")
        assert not report.ok and "503" in (report.error or "")
    web.on(API, timeout)
    report = await runner.run_source("g")
    assert not report.ok and "timed out" in (report.error or "")
    (status,) = await manage.list_sources(services.db)
    assert status.state == "failing" and status.last_error and "timed out" in status.last_error
    assert status.last_error_at and status.last_success_at and status.items_total == before
    assert status.next_run_at and status.next_run_at > status.last_error_at
    assert len(await claims(services)) == before  # nothing half-written
    pages(web)
    assert (await runner.run_source("g")).ok
    (status,) = await manage.list_sources(services.db)
    assert status.state == "ok" and status.last_success_at > status.last_error_at  # type: ignore[operator]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.message]
    recoveries = [r for r in caplog.records if "recovered" in r.message]
    assert len(warnings) == 1 and len(recoveries) == 1


async def test_malformed_json_is_a_failure_not_a_crash(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    pages(web)
    await manage.add_source(services, "google_factcheck", "g", {"query": "virus"}, client=client)
    web.serve(API, '{"claims": [', headers={"Content-Type": "application/json"})
    report = await runner.run_source("g")
    assert not report.ok and report.error == "the response is not valid JSON"
    assert report.attempts == 1  # not retried: it will not fix itself in a second


async def test_live_lookup_is_cached(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    pages(web)
    text = "is it true that hot water every fifteen minutes cures the virus"
    first = await live_lookup(services, text, "en", 2.0, client=client)
    again = await live_lookup(services, text, "en", 2.0, client=client)
    assert len(web.hits(API)) == 1
    assert [i.source_url for i in first] == [i.source_url for i in again]
    assert first[0].origin == "source:google-live" and first[0].verdict == "false"
    assert web.hits(API)[0].url.params["query"].startswith("is it true")


async def test_live_lookup_never_keeps_the_resident_waiting(
    services: Services, web: FakeWeb
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"claims": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        found = await live_lookup(
            services, "a slow question about the water supply", "en", 0.2, client=http
        )
        assert found == [] and loop.time() - started < 1.0
    services.settings.google_factcheck_api_key = None
    assert await live_lookup(services, "no key means no lookup at all", "en", 0.2) == []
