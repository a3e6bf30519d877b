"""Property-based fuzzing of every parser that reads outside input: whatever arrives, the
outcome is a message, nothing, or one documented refusal, never a crash (budgets fit CI)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Bot

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_parse import inbound_from_update
from bot.channels.whatsapp_parse import inbound_messages, status_updates
from domain.messages import InboundMessage
from domain.text import InvalidText
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.push import parse_push
from factcheck_connectors.rss import RssFeed
from factcheck_connectors.schema import find_claim_reviews, item_from_claim_review
from matching.normalise import canonical_url, clean_text, extract_urls, normalise_text

FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=40
) | st.sampled_from(
    ["", "\ud800", "x" * 300, "javascript:alert(1)", "/start", "1" * 25, "\x00", "ﷺ"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | ODD_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _valid(message: InboundMessage) -> None:
    assert len(message.sender) <= 100 and len(message.message_id) <= 200
    assert isinstance(message.text, str)
    message.text.encode("utf-8")  # storable: no lone surrogates


def _telegram_update(draw_message: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": 1, "message": draw_message}


MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "message_id": SCALARS,
        "date": SCALARS,
        "text": JSON,
        "caption": JSON,
        "chat": st.fixed_dictionaries(
            {"id": SCALARS, "type": st.sampled_from(["private", "group"]) | SCALARS}
        )
        | JSON,
        "from": st.fixed_dictionaries({"id": SCALARS, "is_bot": SCALARS, "first_name": SCALARS})
        | JSON,
        "photo": JSON,
        "document": JSON,
        "forward_origin": JSON,
        "reply_to_message": JSON,
    },
)


@pytest.fixture(scope="module")
def telegram() -> TelegramChannel:
    from pydantic import SecretStr

    from domain.settings import Settings

    config = Settings(
        _env_file=None,
        telegram_token=SecretStr("1:fuzz"),  # type: ignore[call-arg]
        telegram_mode="webhook",
        telegram_webhook_url="https://x.example/t",
        telegram_webhook_secret=SecretStr("fuzz-secret"),
    )
    return TelegramChannel(config, conversation=None)  # type: ignore[arg-type]


@FAST
@given(message=MESSAGE, callback=st.none() | JSON)
def test_telegram_updates(
    telegram: TelegramChannel, message: dict[str, Any], callback: Any
) -> None:
    data: dict[str, Any] = {"update_id": 7, "message": message}
    if callback is not None:
        data["callback_query"] = callback
    try:
        body = json.dumps(data).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError):
        return
    update = telegram._parse(body)  # the webhook's own parsing: None means 400
    if update is None:
        return
    try:
        found = inbound_from_update(update)
    except (InvalidText, AttributeError, TypeError, ValueError):  # the webhook answers 400
        return
    if found is not None:
        _valid(found)


WA_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "from": SCALARS,
        "id": SCALARS,
        "timestamp": SCALARS,
        "type": st.sampled_from(["text", "image", "interactive", "button", "location", "reaction"])
        | SCALARS,
        "text": st.fixed_dictionaries({"body": SCALARS}) | JSON,
        "interactive": JSON,
        "button": JSON,
        "image": JSON,
        "context": JSON,
    },
)


@FAST
@given(messages=st.lists(WA_MESSAGE, max_size=4), statuses=st.lists(JSON, max_size=3), extra=JSON)
def test_whatsapp_payloads(messages: list[Any], statuses: list[Any], extra: Any) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messages": messages,
                            "statuses": statuses,
                            "metadata": {"phone_number_id": "1"},
                        },
                    }
                ]
            },
            extra,
        ],
    }
    for message in inbound_messages(payload, "1"):
        _valid(message)
    for status in status_updates(payload, "1"):
        assert len(status.message_id) <= 200 and len(status.status) <= 20
    inbound_messages(extra)
    status_updates(extra)


STATEMENT = st.fixed_dictionaries(
    {"id": SCALARS},
    optional={
        "claim": SCALARS,
        "text": SCALARS,
        "verdict": SCALARS,
        "url": SCALARS,
        "source_url": SCALARS,
        "translations": JSON,
        "published_at": SCALARS,
        "date": SCALARS,
        "language": SCALARS,
        "topic": SCALARS,
        "publisher": SCALARS,
        "kind": SCALARS,
    },
)


@FAST
@given(
    payload=st.fixed_dictionaries(
        {"statements": st.lists(STATEMENT, max_size=3) | JSON, "retired": JSON}
    )
    | JSON
)
def test_push_payloads(payload: Any) -> None:
    try:
        items, retired = parse_push(payload)
    except SourceInvalid as exc:
        assert str(exc)  # a message the CMS can act on
        return
    for item in items:
        assert item.source_url is None or item.source_url.startswith(("http://", "https://"))
        assert all(isinstance(v, dict) for v in item.translations.values())
        assert len(item.external_id or "") <= 500 and len(item.topic or "") <= 50
    assert all(isinstance(r, str) for r in retired)


@FAST
@given(data=JSON)
def test_claimreview_objects(data: Any) -> None:
    review = {
        "@type": "ClaimReview",
        "claimReviewed": data,
        "url": data,
        "author": data,
        "reviewRating": data,
        "itemReviewed": data,
        "inLanguage": data,
        "datePublished": data,
        "keywords": data,
    }
    for found in [review, *find_claim_reviews(data), *find_claim_reviews([review, data])]:
        item = item_from_claim_review(found, "source")
        if item is not None:
            assert item.source_url is None or item.source_url.startswith(("http://", "https://"))
            assert len(item.publisher or "") <= 200


FEED_PARTS = st.sampled_from(
    [
        "<rss version='2.0'><channel>",
        "<item>",
        "</item>",
        "<title>",
        "</title>",
        "<link>",
        "</link>",
        "javascript:alert(1)",
        "https://x.example/a",
        "<category>",
        "</category>",
        "<guid>",
        "</guid>",
        "<pubDate>Sun, 01 Jan 99999 00:00:00 GMT</pubDate>",
        "&amp;",
        "&#0;",
        "<![CDATA[",
        "]]>",
        "<feed xmlns='http://www.w3.org/2005/Atom'>",
        "<entry>",
        "</entry>",
        "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
        "&a;",
        "\ud800",
        "x" * 120,
    ]
) | st.text(max_size=10)


@FAST
@given(parts=st.lists(FEED_PARTS, max_size=40))
async def test_rss_and_atom_feeds(parts: list[str]) -> None:
    body = "".join(parts).encode("utf-8", "replace")
    feed = RssFeed("https://feeds.example/rss", {}, 1_000_000)
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        try:
            result = await feed.fetch(http, {})
        except SourceInvalid:
            return
    for item in result.items:
        assert item.source_url is None or item.source_url.startswith(("http://", "https://"))
        assert len(item.topic or "") <= 50 and len(item.publisher or "") <= 200


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300)
    | st.text(
        alphabet=st.sampled_from(
            list("aRT &amp;#@<>/.:-—(@)!?wh tp") + ["\ud800", "ﷺ", "\u0301", "👍", "\n"]
        ),
        max_size=80,
    )
)
def test_normaliser_total_and_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    folded = normalise_text(text)
    assert normalise_text(folded) == folded
    canonical_url(text)
    extract_urls(text)


BODY = st.fixed_dictionaries({}, optional={"text": JSON, "button": JSON, "forwarded": JSON}) | JSON


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODY)
async def test_web_chat_messages_and_button_data(web: httpx.AsyncClient, body: Any) -> None:
    if "rumourbot_chat" not in web.cookies:
        await web.get("/chat")
    try:
        content = json.dumps(body).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError):
        return
    response = await web.post("/chat/send", content=content)
    assert response.status_code in (200, 400, 429), response.text
    assert "error" in response.json() or response.json() == {"ok": True}
