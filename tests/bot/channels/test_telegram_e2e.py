"""The Telegram channel end to end: the real PTB Application against a fake Bot API server.

Polling: updates are pushed to the fake server and fetched by PTB's updater. Webhook: real
Update JSON is POSTed to the runtime's ASGI app (and, once, by the fake server to a real
uvicorn server on loopback). Replies are asserted at the fake server, as Telegram would get them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel, TelegramConfigError
from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from bot.texts.catalogue import text
from domain.db import Database
from domain.messages import Button, OutboundMessage
from domain.models import Cluster, InboxMessage, OutboxMessage, Request, Resident
from domain.residents import resident_for
from domain.settings import Settings
from matching import Embedder
from tests.conftest import add_item
from tests.fakes.telegram_api import FakeTelegram
from tests.media import samples

SECRET = "s3cret-Token_for-tests"
WAIT = 20.0  # seconds; replies take milliseconds, but CI machines can be very busy
WATER = "The city will cut off all water supply for two weeks starting Monday."
WATER_FORWARD = (
    "Forwarded as received!! The city will cut off ALL water supply for two weeks "
    "starting Monday. Share with everyone"
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeTelegram) -> None:
    fake.reset()


def telegram_settings(settings: Settings, fake: FakeTelegram, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(fake.token),
            "telegram_api_url": fake.api_url,
            "telegram_file_url": fake.file_url,
            **extra,
        }
    )


def build_runtime(settings: Settings, database: Database, embedder: Embedder) -> Runtime:
    return Runtime(settings, services=build_services(settings, db=database, embedder=embedder))


@pytest.fixture
async def polling(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        telegram_settings(settings, fake, telegram_mode="polling"), database, embedder
    )
    async with rt.running():
        yield rt


@pytest.fixture
async def webhook(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        telegram_settings(
            settings,
            fake,
            telegram_webhook_url="https://bot.example.org/telegram/webhook",
            telegram_webhook_secret=SecretStr(SECRET),
        ),
        database,
        embedder,
    )
    async with rt.running():
        yield rt


@pytest.fixture
async def client(webhook: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the runtime's ASGI app (the runtime itself runs in `webhook`)."""
    transport = httpx.ASGITransport(app=Starlette(routes=webhook.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.org") as c:
        yield c


def channel_of(rt: Runtime) -> TelegramChannel:
    channel = rt.services.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


async def add_fact(rt: Runtime) -> None:
    """The fact check these journeys ask about: the water cut is false (the Fact Desk says)."""
    await add_item(rt, WATER, "Only a 12-hour cut.", publisher="Fact Desk")


async def say(
    fake: FakeTelegram, update: dict[str, Any], chat: int, n: int = 1
) -> list[dict[str, Any]]:
    """Push `update` (polling) and return the `n` new messages the bot sent to `chat`."""
    before = len(fake.sent_to(chat))
    fake.push_update(update)
    sent = await fake.wait_for_messages(chat, before + n, timeout=WAIT)
    assert len(sent) >= before + n, f"no reply to {update}"
    return sent[before:]


async def post(
    client: httpx.AsyncClient, update: Any, secret: str | None = SECRET, raw: bytes | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    body = raw if raw is not None else json.dumps(update).encode()
    return await client.post(WEBHOOK_PATH, content=body, headers=headers)


async def outbox_row(rt: Runtime, done: Callable[[OutboxMessage], bool]) -> OutboxMessage:
    """The one outbox row, once `done(row)` holds (results are recorded after the send)."""
    deadline = time.monotonic() + WAIT
    while True:
        async with rt.services.db.session() as session:
            row = (await session.scalars(select(OutboxMessage))).first()
        if (row is not None and done(row)) or time.monotonic() > deadline:
            assert row is not None
            return row
        await asyncio.sleep(0.02)


def buttons_of(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


# -- polling -------------------------------------------------------------------------------
async def test_forward_with_a_match_gets_the_verdict(polling: Runtime, fake: FakeTelegram) -> None:
    await add_fact(polling)
    [reply] = await say(fake, fake.message_update(501, WATER_FORWARD, forwarded=True), 501)
    assert reply["text"].startswith("❌ FALSE")
    assert "https://example.org/fc/1" in reply["text"]
    assert [b[:3] for b in buttons_of(reply)] == ["fb:", "fb:"]
    async with polling.services.db.session() as session:
        request = (await session.scalars(select(Request))).one()
    assert request.forwarded and str(request.platform_message_id).startswith("501:")
    assert fake.calls_of("getUpdates")[0]["allowed_updates"] == ["message", "callback_query"]


async def test_unknown_forward_is_queued_then_the_answer_is_delivered_once(
    polling: Runtime, fake: FakeTelegram
) -> None:
    rumour = "Lions escaped from the national park and are walking in the market tonight"
    [queued] = await say(fake, fake.message_update(502, rumour, forwarded=True), 502)
    assert "city's team" in queued["text"]
    async with polling.services.db.session() as session:
        cluster = (await session.scalars(select(Cluster))).one()
    draft = AnswerDraft(verdict="false", explanation="Park rangers confirm all lions are inside.")
    result = await publish_answer(polling.services, cluster.id, draft)
    assert result.notified == 1
    sent = await fake.wait_for_messages(502, 2, timeout=WAIT)
    assert "Park rangers" in sent[-1]["text"]
    await asyncio.sleep(0.5)  # nothing else arrives
    assert len(fake.sent_to(502)) == 2


async def test_candidate_button_gives_the_chosen_answer(
    polling: Runtime, fake: FakeTelegram
) -> None:
    await add_fact(polling)
    [suggestion] = await say(fake, fake.message_update(503, "water cut off?"), 503)
    picks = [b for b in buttons_of(suggestion) if b.startswith("pick:")]
    assert picks, suggestion
    press = fake.button_update(503, picks[0])
    assert press["callback_query"]["message"]["message_id"] == suggestion["message_id"]
    [answer] = await say(fake, press, 503)
    assert answer["text"].startswith("❌ FALSE")
    acks = fake.calls_of("answerCallbackQuery")
    assert [a["callback_query_id"] for a in acks] == [press["callback_query"]["id"]]


async def test_commands(polling: Runtime, fake: FakeTelegram) -> None:
    chat = 504
    [welcome] = await say(fake, fake.message_update(chat, "/start"), chat)
    assert "lang:sw" in buttons_of(welcome)
    [help_] = await say(fake, fake.message_update(chat, "/help"), chat)
    assert "/forget" in help_["text"]
    [prompt] = await say(fake, fake.message_update(chat, "/language"), chat)
    assert "lang:ar" in buttons_of(prompt)
    [done] = await say(fake, fake.button_update(chat, "lang:es"), chat)
    assert "español" in done["text"].lower()
    [subscribed] = await say(fake, fake.message_update(chat, "/subscribe health"), chat)
    [unsubscribed] = await say(fake, fake.message_update(chat, "/unsubscribe health"), chat)
    async with polling.services.db.session() as session:
        resident = (await session.scalars(select(Resident))).one()
    assert resident.language == "es" and resident.topics == []
    assert resident.chat_id == str(chat) and resident.channel == "telegram"
    assert subscribed["text"] != unsubscribed["text"]


async def test_forget_removes_the_data(polling: Runtime, fake: FakeTelegram) -> None:
    chat = 505
    await say(
        fake,
        fake.message_update(chat, "Schools close tomorrow because of the storm", forwarded=True),
        chat,
    )
    [gone] = await say(fake, fake.message_update(chat, "/forget"), chat)
    assert "deleted" in gone["text"]
    async with polling.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 0
        assert await session.scalar(select(func.count()).select_from(Request)) == 0


async def test_photo_with_caption_is_checked_and_kept_for_staff(
    polling: Runtime, fake: FakeTelegram
) -> None:
    await add_fact(polling)
    content = samples.jpeg(samples.notice("en", "A picture of the river at dawn"))
    update = fake.photo_update(506, WATER_FORWARD, content=content)
    [reply] = await say(fake, update, 506)
    assert reply["text"].startswith("❌ FALSE")
    async with polling.services.db.session() as session:
        request = (await session.scalars(select(Request))).one()
    [media] = request.media
    assert media["ref"] == update["message"]["photo"][-1]["file_id"]
    assert "river" in media["ocr_text"] and media["machine_read"] is True
    stored = polling.conversation.media.stage.store.path(media["file"])
    assert stored is not None and stored.read_bytes() == content


async def test_photo_without_caption_and_unsupported_media(
    polling: Runtime, fake: FakeTelegram
) -> None:
    [photo] = await say(fake, fake.photo_update(507), 507)  # JPEG magic, then garbage
    assert "could not open this file" in photo["text"]
    sticker: dict[str, Any] = {
        "file_id": "CAACAgIAAxkBAAIBsticker",
        "file_unique_id": "AgADsticker",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "😀",
    }
    voice: dict[str, Any] = {
        "file_id": "AwACAgQAAxkBAAIBvoice",
        "file_unique_id": "AgADvoice",
        "duration": 3,
        "mime_type": "audio/ogg",
    }
    [reply] = await say(fake, fake.message_update(507, sticker=sticker), 507)
    assert "cannot check this kind of attachment" in reply["text"]
    listening, gone = await say(fake, fake.message_update(507, voice=voice), 507, n=2)
    assert "listening" in listening["text"]  # then Telegram does not know the file id
    assert "could not get this file" in gone["text"]


async def test_empty_and_very_long_texts(polling: Runtime, fake: FakeTelegram) -> None:
    [empty] = await say(fake, fake.message_update(508, "   "), 508)
    assert "Please send the text" in empty["text"]
    long_text = ("Everyone says the bridge on the river road will be closed for a year. " * 150)[
        :10_000
    ]
    replies = await say(fake, fake.message_update(508, long_text, forwarded=True), 508, n=2)
    assert "very long" in replies[0]["text"]
    assert all(len(r["text"]) <= 4096 for r in replies)


async def test_rate_limited_send_is_retried_and_delivered(
    polling: Runtime, fake: FakeTelegram
) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    [reply] = await say(fake, fake.message_update(509, "/help"), 509)
    assert "/forget" in reply["text"]
    assert len(fake.calls_of("sendMessage")) == 2
    row = await outbox_row(polling, lambda r: r.sent_at is not None)
    assert row.attempts == 1 and row.status == "sent"  # the 429 was a wait, not a failed try


async def test_blocked_by_the_user_is_not_retried(polling: Runtime, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake.push_update(fake.message_update(510, "/help"))
    row = await outbox_row(polling, lambda r: r.last_error is not None)
    assert row.status == "dead" and "blocked" in (row.last_error or "")
    await asyncio.sleep(0.3)
    assert len(fake.calls_of("sendMessage")) == 1 and fake.sent_to(510) == []


async def test_long_text_is_split_and_buttons_go_last(polling: Runtime, fake: FakeTelegram) -> None:
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(12))  # ~9,000 chars
    message = OutboundMessage(
        chat_id="511", text=text, buttons=(Button("Yes", "fb:1:1"),), reply_to="511:7"
    )
    await channel_of(polling).send(message)
    sent = fake.sent_to(511)
    assert len(sent) == 3 and all(len(m["text"]) <= 4096 for m in sent)
    assert " ".join(m["text"] for m in sent).split() == text.split()
    assert [buttons_of(m) for m in sent] == [[], [], ["fb:1:1"]]
    assert sent[0]["reply_parameters"]["message_id"] == 7 and sent[1]["reply_parameters"] is None


# -- webhook -------------------------------------------------------------------------------
async def test_webhook_is_registered_with_the_secret(webhook: Runtime, fake: FakeTelegram) -> None:
    assert fake.webhook == {
        "url": "https://bot.example.org/telegram/webhook",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }
    assert fake.calls_of("getUpdates") == []


async def test_webhook_forward_gets_the_verdict(
    webhook: Runtime, client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    await add_fact(webhook)
    response = await post(client, fake.message_update(601, WATER_FORWARD, forwarded=True))
    assert response.status_code == 200
    [reply] = await fake.wait_for_messages(601, 1, timeout=WAIT)
    assert reply["text"].startswith("❌ FALSE")


async def test_webhook_duplicate_delivery_is_answered_once(
    webhook: Runtime, client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    update = fake.message_update(602, "/help")
    for _ in range(3):  # Telegram retries when it did not see a 200 in time
        assert (await post(client, update)).status_code == 200
    await fake.wait_for_messages(602, 1, timeout=WAIT)
    await asyncio.sleep(0.5)
    assert len(fake.sent_to(602)) == 1


async def test_webhook_first_contact_keeps_language_and_consent(
    webhook: Runtime, client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    """A new resident's first message creates them with the language it shows and the consent
    its privacy notice records; the notice comes once, under the first reply."""
    first = fake.message_update(
        606, "Masoko yote ya jiji yatafungwa kesho kwa sababu ya maandamano", language="sw"
    )
    assert (await post(client, first)).status_code == 200
    [reply] = await fake.wait_for_messages(606, 1, timeout=WAIT)
    assert reply["text"].endswith(text("privacy_notice", "sw"))
    async with webhook.services.db.session() as session:
        resident = (await session.scalars(select(Resident).where(Resident.chat_id == "606"))).one()
        inbox = (await session.scalars(select(InboxMessage))).all()
    assert resident.language == "sw" and resident.consent_at is not None
    assert [row.processed_at is not None for row in inbox] == [True]
    assert (await post(client, fake.message_update(606, "/help", language="sw"))).status_code == 200
    sent = await fake.wait_for_messages(606, 2, timeout=WAIT)
    assert text("privacy_notice", "sw") not in sent[-1]["text"]


async def test_webhook_blocked_resident_is_stored_and_not_answered(
    webhook: Runtime, client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    async with webhook.services.db.session() as session:
        blocked = await resident_for(session, "telegram", "607")
        blocked.blocked, blocked.blocked_reason = True, "too many messages in an hour"
    update = fake.message_update(607, WATER_FORWARD, forwarded=True)
    assert (await post(client, update)).status_code == 200
    assert (await post(client, update)).status_code == 200  # a redelivery changes nothing
    await asyncio.sleep(0.5)
    assert fake.sent_to(607) == []
    async with webhook.services.db.session() as session:
        inbox = (await session.scalars(select(InboxMessage))).all()
        requests = (await session.scalars(select(Request))).all()
    assert [row.platform_id for row in inbox] == [f"607:{update['message']['message_id']}"]
    assert requests == []


async def test_webhook_button_press(
    webhook: Runtime, client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    assert (await post(client, fake.message_update(603, "/language"))).status_code == 200
    await fake.wait_for_messages(603, 1, timeout=WAIT)
    press = fake.button_update(603, "lang:sw")
    assert (await post(client, press)).status_code == 200
    sent = await fake.wait_for_messages(603, 2, timeout=WAIT)
    assert sent[-1]["text"] == "Sawa. Nitajibu kwa Kiswahili."
    assert (
        fake.calls_of("answerCallbackQuery")[0]["callback_query_id"]
        == press["callback_query"]["id"]
    )


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_webhook_refuses_a_missing_or_wrong_secret(
    client: httpx.AsyncClient, fake: FakeTelegram, secret: str | None
) -> None:
    response = await post(client, fake.message_update(604, "/help"), secret=secret)
    assert response.status_code == 403
    await asyncio.sleep(0.2)
    assert fake.sent_to(604) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        b'{"message": {}}',
        b'{"update_id": 5, "message": {"text": "no chat"}}',
        b"",
    ],
)
async def test_webhook_rejects_malformed_updates(client: httpx.AsyncClient, raw: bytes) -> None:
    assert (await post(client, None, raw=raw)).status_code == 400


async def test_webhook_rejects_oversized_bodies(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    update = fake.message_update(605, "x" * 300_000)
    assert (await post(client, update)).status_code == 413


async def test_webhook_delivered_by_the_server_to_a_real_http_server(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
    rt = build_runtime(
        telegram_settings(
            settings, fake, telegram_webhook_url=url, telegram_webhook_secret=SecretStr(SECRET)
        ),
        database,
        embedder,
    )
    server = uvicorn.Server(uvicorn.Config(rt.asgi(), log_level="warning", ws="none", http="h11"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.01)
        await add_fact(rt)
        update_id = fake.push_update(fake.message_update(606, WATER_FORWARD, forwarded=True))
        [reply] = await fake.wait_for_messages(606, 1, timeout=WAIT)
        assert reply["text"].startswith("❌ FALSE")
        assert fake.webhook_responses == [(update_id, 200)]
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_webhook_without_a_secret_refuses_to_start(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> None:
    configured = telegram_settings(settings, fake, telegram_mode="webhook")
    with pytest.raises(TelegramConfigError, match="RUMOURBOT_TELEGRAM_WEBHOOK_SECRET"):
        build_runtime(configured, database, embedder)


async def test_no_channel_without_a_token_or_when_off(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram
) -> None:
    assert "telegram" not in build_runtime(settings, database, embedder).services.channels
    off = telegram_settings(settings, fake, telegram_mode="off")
    assert "telegram" not in build_runtime(off, database, embedder).services.channels
