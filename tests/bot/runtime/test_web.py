"""The process's HTTP surface: health, readiness, metrics, the web chat, and 503 on outages."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from bot.runtime.app import Role, Runtime
from bot.runtime.wiring import build_services
from domain.db import Database
from domain.inbox import accept
from domain.messages import InboundMessage
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser


def client(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=rt.asgi()), base_url="http://test")


async def test_health_readiness_and_metrics(runtime: Runtime) -> None:
    async with client(runtime) as http:
        assert (await http.get("/healthz")).text == "ok"
        assert (await http.get("/readyz")).json() == {"database": "ok"}
        await http.get("/chat")
        sent = await http.post("/chat/send", json={"text": "/help"})
        assert sent.status_code == 200
        replies = await http.get("/chat/messages?after=0")
        assert "/language" in replies.json()["messages"][0]["text"]
        metrics = (await http.get("/metrics")).text
    assert 'rumourbot_messages_in_total{channel="webchat"}' in metrics
    assert "rumourbot_outbox_depth" in metrics
    # the soak's task count: at least the request being served
    [tasks] = re.findall(r"^rumourbot_asyncio_tasks (\S+)$", metrics, re.MULTILINE)
    assert float(tasks) >= 1


async def test_web_chat_refuses_bad_requests(runtime: Runtime) -> None:
    async with client(runtime) as http:
        assert (await http.post("/chat/send", json={"text": "hi"})).status_code == 400  # no session
        await http.get("/chat")
        bad = await http.post("/chat/send", content=b"{not json")
        huge = await http.post("/chat/send", json={"text": "x" * 70_000})
        listed = await http.post("/chat/send", json=["not", "an", "object"])
    assert (bad.status_code, huge.status_code, listed.status_code) == (400, 413, 400)


async def test_database_outage_answers_503_so_platforms_retry(
    settings: Settings, embedder: Embedder, intent_parser: IntentParser
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:9/x"}
    )
    rt = Runtime(down, services=build_services(down, embedder=embedder, parser=intent_parser))
    async with client(rt) as http:  # no lifespan: the routes alone, as during an outage
        response = await http.get("/chat")  # a chat identity is signed with a key kept there
        ready = await http.get("/readyz")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert ready.status_code == 503
    await rt.services.db.dispose()


async def test_worker_role_serves_only_health_and_metrics(
    settings: Settings, embedder: Embedder, intent_parser: IntentParser
) -> None:
    rt = Runtime(
        settings,
        services=build_services(settings, embedder=embedder, parser=intent_parser),
        role=Role.WORKER,
    )
    async with client(rt) as http:
        assert (await http.get("/chat")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
    await rt.services.db.dispose()


async def test_a_worker_finishes_a_turn_a_crashed_web_process_accepted(
    settings: Settings, database: Database
) -> None:
    """The worker builds its intent parser only when it needs one, and then answers."""
    hashing = settings.model_copy(update={"embedder": "hashing"})
    async with database.session() as session:
        await accept(session, InboundMessage("webchat", "w1", "m1", "/help", language_hint="en"))
    worker = Runtime(hashing, role=Role.WORKER)
    collected = worker.webchat_outbox
    await worker.startup()
    assert await worker.conversation.recover(older_than=timedelta(0)) == 1
    while await worker.services.dispatcher.drain_once():
        pass
    assert collected.sent["w1"] and "/language" in collected.sent["w1"][-1].text
    await worker.services.db.dispose()
