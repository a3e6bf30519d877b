"""Malformed, nested, forged and out-of-range input at every parser: a clear 4xx or a polite
reply, never a 500, and a good message travelling with a bad one is not lost."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from admin.views.insight import csv_cell
from bot.runtime.app import Runtime
from tests.admin.conftest import admin, client  # noqa: F401 - fixtures
from tests.bot.channels.test_telegram_e2e import SECRET, _fresh_fake, fake, webhook  # noqa: F401
from tests.bot.channels.test_whatsapp import WhatsApp, graph, wa, wa_settings  # noqa: F401
from tests.fakes import graph_api as meta
from tests.fakes.telegram_api import FakeTelegram
from tests.hostile.conftest import push_source

NESTED = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture
async def tg(webhook: Runtime) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    transport = httpx.ASGITransport(app=Starlette(routes=webhook.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.org") as c:
        yield c


def update(**message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 5,
        "date": int(time.time()),
        "text": "Is the water safe?",
        "from": {"id": 42, "is_bot": False, "first_name": "A"},
        "chat": {"id": 42, "type": "private"},
    }
    base.update(message)
    return {"update_id": 900, "message": base}


async def post_tg(tg: httpx.AsyncClient, body: bytes, secret: str = SECRET) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": secret.encode("utf-8"),
    }
    return await tg.post("/telegram/webhook", content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        json.dumps(update(**{"from": None, "chat": None, "date": None})).encode(),
        json.dumps(update(chat=None)).encode(),
        json.dumps(update(date=10**20)).encode(),
        json.dumps(update(text={"nested": ["not", "text"]})).encode(),
        json.dumps(update(chat={"id": "9" * 300, "type": "private"})).encode(),
    ],
    ids=["nested", "nulls", "null-chat", "huge-date", "non-string-text", "long-chat-id"],
)
async def test_malformed_telegram_updates_get_400(tg: httpx.AsyncClient, body: bytes) -> None:
    response = await post_tg(tg, body)
    assert response.status_code == 400 and response.json() == {"error": "malformed update"}


async def test_a_non_ascii_telegram_secret_is_refused_not_a_crash(tg: httpx.AsyncClient) -> None:
    response = await post_tg(tg, json.dumps(update()).encode(), secret="sécret")
    assert response.status_code == 403


async def test_telegram_text_with_a_lone_surrogate_is_answered(
    tg: httpx.AsyncClient,
    webhook: Runtime,  # noqa: F811
    fake: FakeTelegram,  # noqa: F811
) -> None:
    body = json.dumps(update(text="/help \ud800")).encode()  # json escapes it as \\ud800
    assert (await post_tg(tg, body)).status_code == 200
    await webhook.conversation.wait_idle()
    webhook.services.dispatcher.wake()
    sent = await fake.wait_for_messages(42, 1)
    assert sent and "/language" in sent[0]["text"]


async def test_a_whatsapp_batch_with_one_bad_wamid_keeps_the_good_message(wa: WhatsApp) -> None:  # noqa: F811
    good = meta.text_payload("254700000001", "/help")
    messages = good["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(0, {**messages[0], "id": "w" * 300, "from": "254700000002"})
    messages.insert(0, {**messages[0], "id": "wamid.\ud800", "from": "254700000003"})
    sent = await wa.say("254700000001", good)
    assert sent and "/language" in json.dumps(sent[0].body)
    assert wa.graph.sent_to("254700000002") == [] and wa.graph.sent_to("254700000003") == []


async def test_whatsapp_nested_json_and_non_ascii_signature(wa: WhatsApp) -> None:  # noqa: F811
    nested = b'{"object": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert (await wa.post(None, raw=nested)).status_code == 400
    plain = meta.encode(meta.text_payload("254700000009", "hi"))
    response = await wa.client.post(
        "/whatsapp/webhook",
        content=plain,
        headers={"content-type": "application/json", "x-hub-signature-256": "sha256=éé".encode()},
    )
    assert response.status_code == 401


async def test_push_api_nested_json_and_wrong_types(
    runtime: Runtime, web: httpx.AsyncClient
) -> None:
    auth = await push_source(runtime)
    url = "/api/sources/cms/statements"
    nested = b'{"statements": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await web.post(url, content=nested, headers=auth)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    wrong = {"statements": [{"id": "s1", "claim": "x", "translations": [1, 2]}]}
    response = await web.post(url, json=wrong, headers=auth)
    assert response.status_code == 422
    assert (
        response.json()["error"] == "statement 1: translations: Input should be a valid dictionary"
    )
    wrong = {"statements": [{"id": "s1", "claim": "x", "translations": {"sw": {"claim": 5}}}]}
    response = await web.post(url, json=wrong, headers=auth)
    assert response.status_code == 422 and "translations.sw.claim" in response.json()["error"]
    surrogate = b'{"statements": [{"id": "s2", "claim": "Maji \\ud800 yamekatwa"}]}'
    response = await web.post(url, content=surrogate, headers=auth)
    assert response.status_code == 200 and response.json()["changed"] == 1


async def test_web_chat_nested_json_and_odd_fields(web: httpx.AsyncClient) -> None:
    await web.get("/chat")
    nested = b'{"text": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"  # under the 64 kB cap
    response = await web.post("/chat/send", content=nested)
    assert response.status_code == 400 and response.json() == {"error": "expected JSON"}
    for body in ([1, 2], "text", None):
        response = await web.post("/chat/send", json=body)
        assert response.status_code == 400
    response = await web.post("/chat/send", json={"text": {"a": 1}, "button": 10**30})
    assert response.status_code == 200  # no text and no button: a polite "send me a message"


@pytest.mark.parametrize(
    "path", ["/claims/" + "9" * 30, "/claims/-1", "/claims/1e9", "/chat/messages?after=" + "9" * 40]
)
async def test_out_of_range_numbers_in_public_routes(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code in (200, 404), response.text
    if path.startswith("/claims"):
        assert response.json() == {"error": "no such answer"}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/clusters/" + "9" * 30,
        "/admin/clusters/99999999999999999",
        "/admin/queue?page=" + "9" * 40,
    ],
)
async def test_out_of_range_numbers_in_panel_routes(admin: httpx.AsyncClient, path: str) -> None:  # noqa: F811
    response = await admin.get(path)
    assert response.status_code in (200, 404)
    assert "Internal Server Error" not in response.text


def test_csv_cells_are_never_formulas_and_empty_stays_empty() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", ";=1"):
        assert csv_cell(dangerous) == "'" + dangerous
    assert csv_cell("") == "" and csv_cell(None) is None and csv_cell(3) == 3
    assert csv_cell("Maji ni salama") == "Maji ni salama"


async def test_csv_export_opens_in_excel_as_utf8(admin: httpx.AsyncClient) -> None:  # noqa: F811
    response = await admin.get("/admin/export/clusters.csv")
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
