"""ClaimReview pages (JSON-LD, microdata, broken markup), feeds, Data Commons, huge pages."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from bot.conversation.services import Services
from domain.models import KnowledgeItem
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.runner import Runner
from matching import build_embedder
from tests.factcheck_connectors.conftest import FakeWeb, payload

PAGE = "https://factdesk.example/checks/bridge"
SW_PAGE = "https://factdesk.example/sw/chanjo"
FEED = "https://factdesk.example/claimreview.json"


async def items(services: Services) -> dict[str, KnowledgeItem]:
    async with services.db.session() as session:
        rows = (await session.scalars(select(KnowledgeItem))).all()
    return {r.source_url or "": r for r in rows}


async def test_page_with_json_ld_graph(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(PAGE, payload("factcheck_page.html"), headers={"ETag": '"v1"'})
    status = await manage.add_source(
        services, "claimreview_page", "desk", {"urls": PAGE}, client=client
    )
    assert status.items_total == 1
    item = (await items(services))[PAGE]
    assert item.claim == "The Nyali bridge will be closed to all traffic for six months"
    assert item.verdict == "false" and item.publisher == "Fact Desk" and item.language == "en"
    assert item.explanation.startswith("The county only plans")
    assert item.published_at and item.published_at.date().isoformat() == "2026-11-03"


async def test_malformed_json_ld_falls_back_to_microdata(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    web.serve(SW_PAGE, payload("factcheck_microdata.html"))
    web.serve(PAGE, payload("factcheck_page.html"), headers={"ETag": '"v1"'})
    await manage.add_source(
        services, "claimreview_page", "desk", {"urls": f"{PAGE} {SW_PAGE}"}, client=client
    )
    item = (await items(services))[SW_PAGE]
    assert item.language == "sw" and item.verdict == "false"
    assert item.publisher == "Fact Desk Swahili"
    # second run: the first page answers 304 to our If-None-Match
    web.on(
        PAGE,
        lambda r: (
            httpx.Response(304) if r.headers.get("If-None-Match") == '"v1"' else httpx.Response(500)
        ),
    )
    report = await runner.run_source("desk")
    assert report.ok and report.changed == 0 and report.fetched == 1


async def test_a_page_without_claim_review_is_refused(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve("https://factdesk.example/about", payload("no_markup.html"))
    with pytest.raises(SourceInvalid, match="no ClaimReview markup found"):
        await manage.add_source(
            services,
            "claimreview_page",
            "about",
            {"urls": "https://factdesk.example/about"},
            client=client,
        )
    with pytest.raises(SourceInvalid, match="http"):
        await manage.add_source(
            services, "claimreview_page", "x", {"urls": "ftp://nope"}, client=client
        )
    assert await manage.list_sources(services.db) == []


async def test_feed_conditional_get_and_unchanged_body(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    web.serve(
        FEED,
        payload("claimreview_feed.json"),
        headers={"Last-Modified": "Thu, 12 Nov 2026 08:00:00 GMT"},
    )
    status = await manage.add_source(
        services, "claimreview_feed", "feed", {"url": FEED}, client=client
    )
    assert status.items_total == 2
    found = await items(services)
    assert found["https://factdesk.example/checks/fuel-price"].verdict == "misleading"
    assert found["https://factdesk.example/checks/curfew"].verdict == "false"  # from ratingValue
    web.on(
        FEED,
        lambda r: (
            httpx.Response(304)
            if r.headers.get("If-Modified-Since")
            else httpx.Response(200, content=b"[]")
        ),
    )
    report = await runner.run_source("feed")
    assert report.ok and report.fetched == 0
    (status,) = await manage.list_sources(services.db)
    assert status.items_total == 2 and status.last_run_items == 0


# Batching and size limits are what is tested: the hashing embedder indexes the 600 items in
# milliseconds, where the real model spends some 20 s of CPU on them.
@pytest.mark.parametrize("embedder", [build_embedder("hashing")], ids=["hashing"])
async def test_huge_feed_is_ingested_in_batches_and_an_oversized_one_refused(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    long_text = "Officials explained at length. " * 300  # ~9 kB per review, ~5.5 MB in all
    reviews = [
        {
            "@type": "ClaimReview",
            "url": f"https://big.example/{n}",
            "claimReviewed": f"Rumour number {n} about the {n % 7}th market being closed",
            "reviewBody": long_text,
            "reviewRating": {"@type": "Rating", "alternateName": "False"},
        }
        for n in range(600)
    ]
    body = json.dumps(reviews).encode()
    web.serve(FEED, body)
    written: list[tuple[int, int]] = []
    await manage.add_source(services, "claimreview_feed", "big", {"url": FEED}, client=client)
    reviews[0]["claimReviewed"] = "Rumour number zero was reworded by the fact-checker today"
    web.serve(FEED, json.dumps(reviews))
    report = await runner.run_source("big", progress=lambda d, t: written.append((d, t)))
    assert report.ok and report.changed == 1 and report.unchanged == 599
    assert written[-1] == (600, 600) and len(written) == 2
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(KnowledgeItem)) == 600
    assert len(services.knowledge) == 600
    async with services.db.session() as session:
        longest = await session.scalar(select(func.max(func.length(KnowledgeItem.explanation))))
    assert longest == 5000  # long texts are cut, not refused
    services.settings.connector_max_bytes = len(body) // 2
    report = await runner.run_source("big")
    assert not report.ok and "too large" in (report.error or "")
    (status,) = await manage.list_sources(services.db)
    assert status.state == "failing" and status.items_total == 600


async def test_not_json_or_not_claim_review_is_refused(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(FEED, "<html>login</html>")
    with pytest.raises(SourceInvalid, match="not valid JSON"):
        await manage.add_source(services, "claimreview_feed", "f", {"url": FEED}, client=client)
    web.serve(FEED, json.dumps({"items": [{"title": "x"}]}))
    with pytest.raises(SourceInvalid, match="no ClaimReview objects"):
        await manage.add_source(services, "claimreview_feed", "f", {"url": FEED}, client=client)


async def test_data_commons_feed_with_language_filter(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    from factcheck_connectors.datacommons import FEED_URL

    web.serve(FEED_URL, payload("datacommons.json"))
    status = await manage.add_source(
        services, "datacommons", "dc", {"languages": "en"}, client=client
    )
    assert status.items_total == 1
    (item,) = (await items(services)).values()
    assert item.claim == "Gargling salt water prevents the new flu" and item.verdict == "false"
