"""The web chat and the process under hostile use: huge bodies, invented identities, floods
from one address, web and worker in separate processes, secrets in logs, no network."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.runtime.app import Role, Runtime
from bot.runtime.logs import RedactSecrets, secrets_of
from bot.runtime.wiring import build_services
from domain.db import Database
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.bot.channels.test_telegram_e2e import SECRET, _fresh_fake, fake
from tests.fakes.telegram_api import FakeTelegram
from tests.hostile.conftest import push_source


def client_for(rt: Runtime, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=rt.asgi(), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@pytest.fixture
async def tuned(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> AsyncIterator[Any]:
    """`await tuned(**settings)`: a running process with those settings changed."""
    running: list[Any] = []

    async def start(role: Role = Role.ALL, **changes: Any) -> Runtime:
        changed = settings.model_copy(update=changes)
        rt = Runtime(
            changed,
            role=role,
            services=build_services(changed, db=database, embedder=embedder, parser=intent_parser),
        )
        context = rt.running()
        await context.__aenter__()
        running.append(context)
        return rt

    yield start
    for context in reversed(running):
        await context.__aexit__(None, None, None)


class Counted:
    """A request body of `chunks` MB, counting how much the server actually read."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.read = chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b"x" * 1_000_000


async def test_a_200_mb_body_is_refused_before_it_is_read(
    runtime: Runtime, web: httpx.AsyncClient
) -> None:
    await web.get("/chat")
    body = Counted(200)
    response = await web.post("/chat/send", content=body)  # type: ignore[arg-type]
    assert response.status_code == 413 and response.json() == {"error": "message too large"}
    assert body.read <= 2
    auth = await push_source(runtime)
    body = Counted(200)
    response = await web.post("/api/sources/cms/statements", content=body, headers=auth)  # type: ignore[arg-type]
    assert response.status_code == 413 and body.read <= 6


async def test_an_altered_web_chat_cookie_is_refused(web: httpx.AsyncClient) -> None:
    await web.get("/chat")
    issued = web.cookies["rumourbot_chat"]
    web.cookies.set("rumourbot_chat", "wAAAAAAAAAAAAAAAAAAAAAA." + issued.split(".", 1)[1])
    response = await web.post("/chat/send", json={"text": "hello"})
    assert response.status_code == 400 and response.json() == {"error": "open /chat first"}


async def test_one_address_cannot_flood_with_new_identities_or_messages(tuned: Any) -> None:
    rt = await tuned(
        webchat_new_chats_per_hour_per_address=2, webchat_messages_per_minute_per_address=3
    )
    async with client_for(rt) as http:
        for _ in range(2):
            http.cookies.clear()
            assert (await http.get("/chat")).status_code == 200
        http.cookies.clear()
        refused = await http.get("/chat")
        assert refused.status_code == 429 and "too many new chats" in refused.json()["error"]
    async with client_for(rt, "198.51.100.9") as http:
        await http.get("/chat")
        codes = [
            (await http.post("/chat/send", json={"text": f"rumour {n}"})).status_code
            for n in range(4)
        ]
        assert codes == [200, 200, 200, 429]


async def test_web_chat_replies_reach_the_page_with_separate_web_and_worker(tuned: Any) -> None:
    web_rt = await tuned(Role.WEB)
    await tuned(Role.WORKER)
    async with client_for(web_rt) as http:
        await http.get("/chat")
        assert (await http.post("/chat/send", json={"text": "/help"})).status_code == 200
        page = (await http.get("/chat/messages?after=0")).json()
        assert page["messages"] and "/language" in page["messages"][0]["text"]
        again = (await http.get(f"/chat/messages?after={page['next']}")).json()
        assert again["messages"] == []


async def test_forget_leaves_no_web_chat_history(runtime: Runtime, web: httpx.AsyncClient) -> None:
    await web.get("/chat")
    await web.post("/chat/send", json={"text": "My neighbour Amina says the dam will burst"})
    assert (await web.get("/chat/messages?after=0")).json()["messages"]
    await web.post("/chat/send", json={"text": "/forget"})
    history = (await web.get("/chat/messages?after=0")).json()["messages"]
    assert len(history) == 1 and "deleted" in history[0]["text"]
    remembered = [m.text for chat in runtime.webchat_outbox.sent.values() for m in chat]
    assert not any("Amina" in text or "dam" in text for text in remembered)


async def test_the_web_chat_cookie_is_secure_behind_https(tuned: Any) -> None:
    rt = await tuned(public_url="https://tipline.example.org")
    async with client_for(rt) as http:
        cookie = (await http.get("/chat")).headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_metrics_need_the_token_when_one_is_set(tuned: Any) -> None:
    rt = await tuned(metrics_token=SecretStr("scrape-me-please"))
    async with client_for(rt) as http:
        assert (await http.get("/metrics")).status_code == 401
        ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200 and "rumourbot_inbox_given_up" in ok.text


async def test_feed_addresses_come_from_the_public_url_not_the_host_header(tuned: Any) -> None:
    rt = await tuned(public_url="https://tipline.example.org")
    async with client_for(rt) as http:
        rss = await http.get("/feeds/updates.rss", headers={"Host": "evil.example"})
        atom = await http.get("/feeds/updates.atom", headers={"Host": "evil.example"})
    assert "evil.example" not in rss.text + atom.text
    assert "https://tipline.example.org/feeds/updates.rss" in rss.text


async def test_a_rejected_telegram_token_is_not_logged_and_the_rest_runs(
    tuned: Any, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    token = "999999:REJECTEDtokenVALUEthatMustNeverBeLogged"
    caplog.set_level(logging.DEBUG)
    handler_filter = RedactSecrets([token])
    for handler in logging.getLogger().handlers:
        handler.addFilter(handler_filter)
    try:
        rt = await tuned(
            telegram_token=SecretStr(token),
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            telegram_mode="polling",
        )
        async with client_for(rt) as http:
            assert (await http.get("/chat")).status_code == 200
            assert (await http.get("/admin/login")).status_code == 200
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(handler_filter)
    failures = [r for r in caplog.records if "did not start" in r.getMessage()]
    assert len(failures) == 1 and "InvalidToken" in failures[0].getMessage()
    assert token not in caplog.text and token.split(":")[1] not in caplog.text


async def test_no_network_at_start_up_keeps_the_product_running(tuned: Any) -> None:
    rt = await tuned(
        telegram_token=SecretStr("123:abc-unreachable"),
        telegram_api_url="http://127.0.0.1:9/bot",
        telegram_mode="polling",
    )
    async with client_for(rt) as http:
        assert (await http.get("/chat")).status_code == 200


async def test_a_worker_never_starts_telegrams_receiving_side(
    tuned: Any, fake: FakeTelegram
) -> None:
    await tuned(
        Role.WORKER,
        telegram_token=SecretStr(fake.token if hasattr(fake, "token") else "123456:TEST-token"),
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        telegram_webhook_url="https://bot.example.org/telegram/webhook",
        telegram_webhook_secret=SecretStr(SECRET),
    )
    assert fake.calls_of("setWebhook") == [] and fake.calls_of("getUpdates") == []
    assert fake.calls_of("getMe")  # the sending half is ready


def test_every_secret_setting_is_redacted_from_logs() -> None:
    settings = Settings(
        _env_file=None,
        telegram_token="1:supersecret-token-value",  # type: ignore[call-arg]
        metrics_token="metrics-secret-value",
    )
    redact = RedactSecrets(secrets_of(settings))
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "POST https://api.telegram.org/bot%s/getMe failed",
        ("1:supersecret-token-value",),
        None,
    )
    redact.filter(record)
    assert record.getMessage() == "POST https://api.telegram.org/bot[redacted]/getMe failed"
