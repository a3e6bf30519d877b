"""High severity: stored XSS through `javascript:` source links, and accepted messages that
were never answered (poison inbox rows, identifiers longer than their columns)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.runtime.app import Runtime
from domain.messages import InboundMessage
from domain.models import Answer, InboxMessage, ItemStatus, KnowledgeItem, utcnow
from domain.text import InvalidText
from factcheck_connectors.runner import Runner
from tests.admin.conftest import admin, client, login  # noqa: F401 - fixtures
from tests.hostile.conftest import push_source

JS = "javascript:fetch('/admin/staff',{method:'POST'})"
HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
)


async def test_push_api_refuses_a_javascript_source_link(
    runtime: Runtime, web: httpx.AsyncClient
) -> None:
    auth = await push_source(runtime)
    body = {"statements": [{"id": "s1", "claim": "Water is cut for a week", "url": JS}]}
    response = await web.post("/api/sources/cms/statements", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == (
        "statement 1: url: must be a web address starting with http:// or https://"
    )


def _transport(routes: dict[str, bytes]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda r: httpx.Response(200, content=routes[str(r.url)]))


async def test_feeds_keep_their_items_without_the_javascript_link_and_with_long_fields_cut(
    runtime: Runtime,
) -> None:
    from factcheck_connectors import manage

    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>' + "T" * 250 + "</title>"
        "<item><title>Schools close on Monday</title><link>" + JS + "</link><guid>a1</guid>"
        "<category>" + "c" * 60 + "</category><description>No, they stay open.</description>"
        "</item><item><title>Buses are free this week</title><link>https://city.example/b</link>"
        "<guid>a2</guid></item></channel></rss>"
    ).encode()
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": JS,
        "claimReviewed": "The bridge is closing for a year",
        "author": {"@type": "Organization", "name": "A" * 300},
        "reviewRating": {"@type": "Rating", "alternateName": "False"},
    }
    routes = {
        "https://feeds.example/rss": rss,
        "https://feeds.example/cr.json": json.dumps([review]).encode(),
    }
    async with httpx.AsyncClient(transport=_transport(routes)) as http:
        await manage.add_source(
            runtime.services, "rss", "press", {"url": "https://feeds.example/rss"}, client=http
        )
        await manage.add_source(
            runtime.services,
            "claimreview_feed",
            "checkers",
            {"url": "https://feeds.example/cr.json"},
            client=http,
        )
        assert (await Runner(runtime.services, client=http).run_source("press")).ok
    async with runtime.services.db.session() as session:
        items = {i.claim: i for i in (await session.scalars(select(KnowledgeItem))).all()}
    assert set(items) == {
        "Schools close on Monday",
        "Buses are free this week",
        "The bridge is closing for a year",
    }
    assert items["Schools close on Monday"].source_url is None
    # a feed's keyword is a topic only when it names one of the city's topics: not this one
    assert items["Schools close on Monday"].topic is None
    assert items["Schools close on Monday"].publisher == "T" * 200
    assert items["Buses are free this week"].source_url == "https://city.example/b"
    assert items["The bridge is closing for a year"].source_url is None
    assert items["The bridge is closing for a year"].publisher == "A" * 200


async def test_a_javascript_link_stored_before_the_fix_is_not_a_link_on_the_claim_page(
    runtime: Runtime, web: httpx.AsyncClient
) -> None:
    async with runtime.services.db.session() as session:
        item = KnowledgeItem(
            claim="Lions in the market",
            verdict="false",
            explanation="No.",
            source_url="https://x.example/ok",
            status=ItemStatus.ACTIVE,
            language="en",
            origin="staff",
            translations={},
        )
        session.add(item)
        await session.flush()
        answer = Answer(
            knowledge_item_id=item.id,
            verdict="false",
            explanation="No.",
            translations={},
            published_at=utcnow(),
        )
        session.add(answer)
        await session.flush()
        await session.execute(  # as an old pilot database may hold it
            update(KnowledgeItem).where(KnowledgeItem.id == item.id).values(source_url=JS)
        )
        answer_id = answer.id
    page = await web.get(f"/claims/{answer_id}")
    assert page.status_code == 200 and "Lions in the market" in page.text
    assert "javascript:" not in page.text and ">Source</a>" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/chat",
        "/claims/1",
        "/feeds/updates.rss",
        "/feeds/claimreview.json",
        "/api/openapi.json",
        "/healthz",
        "/admin/login",
        "/nowhere",
    ],
)
async def test_every_page_carries_the_security_headers(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert all(name in response.headers for name in HEADERS), (path, dict(response.headers))
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_an_identifier_longer_than_its_column_is_refused_where_it_enters() -> None:
    with pytest.raises(InvalidText, match="longer than 100"):
        InboundMessage(channel="webchat", sender="x" * 101, message_id="m1", text="hi")
    with pytest.raises(InvalidText, match="longer than 200"):
        InboundMessage(channel="whatsapp", sender="1", message_id="w" * 201, text="hi")
    with pytest.raises(InvalidText):
        InboundMessage(channel="telegram", sender="1", message_id="\ud800", text="hi")
    ok = InboundMessage(channel="webchat", sender="1", message_id="m", text="a\ud800b\x00c")
    assert ok.text == "a\ufffdbc"


async def test_an_invented_long_web_chat_cookie_gets_a_clear_error(web: httpx.AsyncClient) -> None:
    web.cookies.set("rumourbot_chat", "x" * 150)
    response = await web.post("/chat/send", json={"text": "Is the water safe?"})
    assert response.status_code == 400 and response.json() == {"error": "open /chat first"}


async def _inbox(runtime: Runtime) -> list[InboxMessage]:
    async with runtime.services.db.session() as session:
        return list((await session.scalars(select(InboxMessage).order_by(InboxMessage.id))).all())


async def test_a_message_that_always_fails_is_given_up_and_staff_see_it(
    runtime: Runtime,
    poison: object,
    admin: httpx.AsyncClient,  # noqa: F811
) -> None:
    await poison("residents", "chat_id", "poison")  # type: ignore[operator]
    await runtime.conversation.handle(
        InboundMessage(channel="webchat", sender="poison-1", message_id="p1", text="hello")
    )
    row = (await _inbox(runtime))[0]
    assert row.processed_at is None and row.attempts == 1 and row.last_error
    for day in range(1, 10):  # each failure waits longer; "now" moves on a day each time
        await runtime.conversation.recover(older_than=-timedelta(days=day))
    row = (await _inbox(runtime))[0]
    assert row.dead_at is not None and row.attempts == runtime.settings.inbox_max_attempts
    assert row.last_error == f"gave up after {row.attempts} attempts"
    page = await admin.get("/admin/delivery")
    assert "Messages the bot could not handle (1)" in page.text


async def test_a_hundred_poison_rows_do_not_starve_crash_recovery(
    runtime: Runtime, poison: object
) -> None:
    await poison("residents", "chat_id", "poison")  # type: ignore[operator]
    old = utcnow() - timedelta(minutes=10)
    async with runtime.services.db.session() as session:
        for n in range(100):
            message = InboundMessage(
                channel="webchat",
                sender=f"poison-{n}",
                message_id=f"p{n}",
                text="x",
                received_at=old,
            )
            session.add(
                InboxMessage(
                    channel="webchat",
                    platform_id=f"p{n}",
                    payload=message.to_payload(),
                    received_at=old,
                    next_attempt_at=old,
                    attempts=1,
                )
            )
        real = [
            InboundMessage(
                channel="webchat",
                sender=f"real-{n}",
                message_id=f"r{n}",
                text="/help",
                received_at=old + timedelta(minutes=1),
            )
            for n in range(5)
        ]
        for message in real:
            session.add(
                InboxMessage(
                    channel="webchat",
                    platform_id=message.message_id,
                    payload=message.to_payload(),
                    received_at=message.received_at,
                    next_attempt_at=message.received_at,
                    attempts=1,
                )
            )
    await runtime.conversation.recover(batches=1)  # 100 rows: all of them poison
    await runtime.conversation.recover(batches=1)  # the poison waits now: the real ones go
    for message in real:
        assert await runtime.webchat_outbox.wait_for(message.sender, 1, timeout=5)
    async with runtime.services.db.session() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.processed_at.is_(None))
        )
    assert left == 100
