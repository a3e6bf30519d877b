"""Publishing back: ClaimReview pages and feed, RSS/Atom updates, and the round trip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import feedparser
import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.conversation.services import Services
from bot.runtime.wiring import build_services, prepare
from domain.db import Database
from domain.models import Cluster, KnowledgeItem
from domain.settings import Settings
from domain.topics import city_topics
from factcheck_connectors import manage
from factcheck_connectors.claimreview import reviews_in_page
from factcheck_connectors.web import routes
from matching import Embedder


async def answer(services: Services, question: str, draft: AnswerDraft) -> int:
    async with services.db.session() as session:
        cluster = Cluster(representative_text=question, ask_count=1)
        session.add(cluster)
        await session.flush()
        cluster_id = cluster.id
    return (await publish_answer(services, cluster_id, draft)).answer_id


@pytest.fixture
async def published(services: Services) -> list[int]:
    water = await answer(
        services,
        "Is the city cutting water for two weeks from Monday?",
        AnswerDraft(
            verdict="false",
            topic="water",
            explanation="Only a 12-hour cut in Eastlands on Tuesday.",
            source_url="https://city.example/notices/water",
            translations={
                "sw": {"claim": "Maji yatakatwa wiki mbili?", "explanation": "Saa 12 tu Eastlands."}
            },
        ),
    )
    exams = await answer(
        services,
        "National exams are postponed to January",
        AnswerDraft(
            verdict="misleading",
            topic="education",
            explanation="Only the practical papers moved, by one week.",
        ),
    )
    return [water, exams]


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(services))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as client:
        yield client


async def test_claim_page_has_claim_review_json_ld(
    services: Services, published: list[int], http: httpx.AsyncClient
) -> None:
    page = await http.get(f"/claims/{published[0]}")
    assert page.status_code == 200
    (review,), bad = reviews_in_page(page.content, str(page.url))
    assert bad == 0 and review["claimReviewed"].startswith("Is the city cutting water")
    assert review["reviewRating"]["alternateName"] == "False"
    assert review["author"]["name"] == services.settings.publisher_name
    assert review["url"] == f"http://127.0.0.1:8080/claims/{published[0]}"
    as_json = await http.get(
        f"/claims/{published[0]}?lang=sw", headers={"Accept": "application/ld+json"}
    )
    assert as_json.json()["claimReviewed"] == "Maji yatakatwa wiki mbili?"
    assert as_json.json()["inLanguage"] == "sw"
    assert (await http.get("/claims/999")).status_code == 404
    assert (await http.get("/claims/abc")).status_code == 404


async def test_update_feeds_filter_by_topic_and_language(
    published: list[int], http: httpx.AsyncClient
) -> None:
    rss = feedparser.parse((await http.get("/feeds/updates.rss")).content)
    assert not rss.bozo and rss.version == "rss20" and len(rss.entries) == 2
    assert rss.entries[0].title.startswith("Misleading: National exams")  # newest first
    water = feedparser.parse((await http.get("/feeds/updates.atom?topic=water")).content)
    assert not water.bozo and water.version == "atom10" and len(water.entries) == 1
    assert water.entries[0].link.endswith(f"/claims/{published[0]}")
    swahili = feedparser.parse((await http.get("/feeds/updates.rss?lang=sw")).content)
    assert [e.title for e in swahili.entries] == ["False: Maji yatakatwa wiki mbili?"]
    none = feedparser.parse((await http.get("/feeds/updates.atom?topic=nothing")).content)
    assert not none.bozo and none.entries == []


async def test_round_trip_into_an_empty_instance(
    services: Services,
    published: list[int],
    http: httpx.AsyncClient,
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    feed = (await http.get("/feeds/claimreview.json")).json()
    assert len(feed) == 2 and all(r["@type"] == "ClaimReview" for r in feed)
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    other = build_services(
        Settings(
            _env_file=None,
            database_url=other_url,  # type: ignore[call-arg]
            demo_data=False,
        ),
        db=Database(other_url),
        embedder=embedder,
    )
    await prepare(other)
    try:
        status = await manage.add_source(
            other,
            "claimreview_feed",
            "city",
            {"url": "http://127.0.0.1:8080/feeds/claimreview.json"},
            client=http,
        )
        assert status.items_total == 2
        async with services.db.session() as session:
            ours = {r.claim: r for r in (await session.scalars(select(KnowledgeItem))).all()}
        async with other.db.session() as session:
            theirs = (await session.scalars(select(KnowledgeItem))).all()
        for item in theirs:
            original = ours[item.claim]
            assert (item.verdict, item.explanation, item.language, item.topic, item.publisher) == (
                original.verdict,
                original.explanation,
                original.language,
                original.topic if original.topic in city_topics() else None,  # a plain keyword
                original.publisher,
            )
            assert item.published_at == original.published_at
            assert item.source_url and item.source_url.startswith("http://127.0.0.1:8080/claims/")
        decision = await other.knowledge.search("city cutting water for two weeks", k=1)
        assert decision and len(other.knowledge) == 2
    finally:
        await other.db.dispose()
