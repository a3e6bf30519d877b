"""The WhatsApp channel end to end: signed Meta-shaped webhooks into the runtime's ASGI app,
replies out through the outbox to a fake Graph API on loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.channels.base import DeliveryFailed, Recipient
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppConfigError, from_settings
from bot.conversation.core import Conversation
from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.messages import Button, OutboundMessage
from domain.models import Cluster, OutboxKind, OutboxMessage, Request, Resident, utcnow
from domain.outbox import enqueue
from domain.settings import Settings
from matching import Embedder
from tests.fakes import graph_api as meta
from tests.fakes.graph_api import FakeGraphAPI, Sent

# admin/charts.py imports pygal, whose import hook warns on every missing optional module
# (httpx probes for sniffio); not ours to fix here, and harmless.
pytestmark = pytest.mark.filterwarnings("ignore:PluginImportFixer.find_spec:ImportWarning")

RUMOUR = "Lions escaped from the national park and are walking in the market tonight"
WATER = "The city will cut off all water supply for two weeks starting Monday."


@dataclass
class WhatsApp:
    runtime: Runtime
    client: httpx.AsyncClient
    graph: FakeGraphAPI

    @property
    def channel(self) -> WhatsAppChannel:
        channel = self.runtime.services.channels["whatsapp"]
        assert isinstance(channel, WhatsAppChannel)
        return channel

    async def post(self, payload: Any, raw: bytes | None = None,
                   signature: str | None = None) -> httpx.Response:
        """POST a webhook like Meta: the exact bytes, signed (unless told otherwise)."""
        body = raw if raw is not None else meta.encode(payload)
        headers = {"content-type": "application/json",
                   "x-hub-signature-256": signature if signature is not None else meta.sign(body)}
        response = await self.client.post("/whatsapp/webhook", content=body, headers=headers)
        await self.runtime.conversation.wait_idle()
        await self.channel.idle()
        return response

    async def say(self, wa_id: str, payload: dict[str, Any], expect: int = 1) -> list[Sent]:
        """Deliver one webhook and return the messages it caused to be sent to `wa_id`."""
        before = len(self.graph.sent_to(wa_id))
        response = await self.post(payload)
        assert response.status_code == 200
        self.runtime.services.dispatcher.wake()
        sent = await self.graph.wait_for(wa_id, before + expect)
        return sent[before:]

    async def outbox(self, wa_id: str) -> list[OutboxMessage]:
        async with self.runtime.services.db.session() as session:
            query = (select(OutboxMessage).where(OutboxMessage.chat_id == wa_id)
                     .order_by(OutboxMessage.id))
            return list((await session.scalars(query)).all())

    async def resident(self, wa_id: str) -> Resident:
        async with self.runtime.services.db.session() as session:
            query = select(Resident).where(Resident.channel == "whatsapp",
                                           Resident.chat_id == wa_id)
            return (await session.scalars(query)).one()

    async def age_window(self, wa_id: str, hours: float) -> None:
        """Pretend the resident last wrote `hours` ago."""
        async with self.runtime.services.db.session() as session:
            await session.execute(update(Resident).where(Resident.chat_id == wa_id).values(
                last_inbound_at=utcnow() - timedelta(hours=hours)))


def whatsapp_settings(settings: Settings, graph: FakeGraphAPI, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "whatsapp_access_token": SecretStr(meta.TOKEN),
        "whatsapp_phone_number_id": meta.PHONE_NUMBER_ID,
        "whatsapp_app_secret": SecretStr(meta.APP_SECRET),
        "whatsapp_verify_token": SecretStr(meta.VERIFY_TOKEN),
        "whatsapp_api_url": graph.url,
        "whatsapp_api_version": meta.VERSION,
        "whatsapp_messages_per_second": 1000.0,
        "whatsapp_template_answer": "rumour_answered",
        "whatsapp_template_broadcast": "verified_update",
        "whatsapp_template_language": "en_US",
        "whatsapp_template_languages": "sw=sw,es=es_MX",
    }
    return settings.model_copy(update={**values, **extra})


@pytest.fixture
def graph() -> Iterator[FakeGraphAPI]:
    with FakeGraphAPI() as fake:
        yield fake


@pytest.fixture
def wa_settings(settings: Settings, graph: FakeGraphAPI) -> Settings:
    return whatsapp_settings(settings, graph)


@contextlib.asynccontextmanager
async def open_whatsapp(settings: Settings, database: Database, embedder: Embedder,
                        graph: FakeGraphAPI) -> AsyncIterator[WhatsApp]:
    """A running process with the WhatsApp channel, and an HTTP client on its ASGI app."""
    runtime = Runtime(settings, services=build_services(settings, db=database, embedder=embedder))
    async with runtime.running():
        transport = httpx.ASGITransport(app=runtime.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield WhatsApp(runtime, client, graph)


@pytest.fixture
async def wa(wa_settings: Settings, database: Database, embedder: Embedder,
             graph: FakeGraphAPI) -> AsyncIterator[WhatsApp]:
    async with open_whatsapp(wa_settings, database, embedder, graph) as whatsapp:
        yield whatsapp


async def add_fact(wa: WhatsApp, claim: str, explanation: str = "Not true.") -> None:
    async with wa.runtime.services.db.session() as session:
        await upsert_item(session, ItemData(claim=claim, verdict="false", explanation=explanation,
                                            source_url="https://example.org/fc/1",
                                            publisher="Fact Desk"))
    await wa.runtime.services.knowledge.refresh()


def button_ids(sent: Sent) -> list[str]:
    interactive = sent.body["interactive"]
    if interactive["type"] == "button":
        return [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    return [row["id"] for section in interactive["action"]["sections"] for row in section["rows"]]


# -- the handshake and the signature ---------------------------------------------------------
async def test_handshake_echoes_the_challenge(wa: WhatsApp) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": meta.VERIFY_TOKEN,
              "hub.challenge": "1158201444"}
    response = await wa.client.get("/whatsapp/webhook", params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": meta.VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.challenge": "1"},
])
async def test_handshake_with_a_wrong_token_is_forbidden(wa: WhatsApp,
                                                         params: dict[str, str]) -> None:
    response = await wa.client.get("/whatsapp/webhook", params=params)
    assert response.status_code == 403
    assert "1" not in response.text


async def test_bad_or_missing_signature_is_rejected(wa: WhatsApp) -> None:
    payload = meta.text_payload("254700000001", RUMOUR)
    raw = meta.encode(payload)
    for signature in ("", "sha256=" + "0" * 64, meta.sign(raw, "another-secret"), "sha1=abc"):
        response = await wa.post(payload, raw=raw, signature=signature)
        assert response.status_code == 401
    assert await wa.outbox("254700000001") == []


async def test_a_reserialised_body_fails_the_signature(wa: WhatsApp) -> None:
    payload = meta.text_payload("254700000001", "Maji yatakatwa kesho — ni kweli?")
    raw = meta.encode(payload)
    signature = meta.sign(raw)
    same_json = json.dumps(json.loads(raw), ensure_ascii=False, indent=1).encode()
    assert json.loads(same_json) == json.loads(raw)
    response = await wa.post(payload, raw=same_json, signature=signature)
    assert response.status_code == 401
    assert await wa.outbox("254700000001") == []


async def test_a_retried_delivery_is_answered_once(wa: WhatsApp) -> None:
    payload = meta.text_payload("254700000002", RUMOUR, forwarded=True)
    first = await wa.say("254700000002", payload)
    assert (await wa.post(payload)).status_code == 200
    assert (await wa.post(payload)).status_code == 200
    wa.runtime.services.dispatcher.wake()
    await wa.graph.wait_for("254700000002", 2, within=1.0)
    assert len(wa.graph.sent_to("254700000002")) == len(first) == 1
    async with wa.runtime.services.db.session() as session:
        assert len((await session.scalars(select(Request))).all()) == 1


# -- the journey ---------------------------------------------------------------------------
async def test_forward_gets_the_verdict_with_feedback_buttons(wa: WhatsApp) -> None:
    await add_fact(wa, WATER)
    payload = meta.text_payload("254700000003", "Forwarded!! The city will cut off ALL water "
                                "supply for two weeks starting Monday.", frequently=True)
    [reply] = await wa.say("254700000003", payload)
    assert reply.type == "interactive" and reply.body["interactive"]["type"] == "button"
    assert "FALSE" in reply.text and "https://example.org/fc/1" in reply.text
    assert [i.split(":")[2] for i in button_ids(reply)] == ["1", "0"]
    async with wa.runtime.services.db.session() as session:
        [request] = (await session.scalars(select(Request))).all()
    assert request.forwarded and request.outcome == "answer"
    # the feedback button
    [thanks] = await wa.say("254700000003", meta.button_reply_payload(
        "254700000003", button_ids(reply)[0], "Yes", reply.wamid))
    assert thanks.type == "text" and "Thank you" in thanks.text
    async with wa.runtime.services.db.session() as session:
        assert (await session.get(Request, request.id)).helpful is True  # type: ignore[union-attr]


async def test_queued_question_is_notified_in_the_window_as_text_and_outside_as_a_template(
        wa: WhatsApp) -> None:
    inside, outside = "254700000010", "254700000011"
    [queued] = await wa.say(inside, meta.text_payload(inside, RUMOUR, forwarded=True))
    assert queued.type == "text" and "city's team" in queued.text
    await wa.say(outside, meta.text_payload(outside, RUMOUR + "!!", forwarded=True))
    await wa.age_window(outside, hours=30)
    async with wa.runtime.services.db.session() as session:
        [cluster] = (await session.scalars(select(Cluster))).all()
    draft = AnswerDraft(verdict="false", explanation="Park rangers confirm all lions are inside.")
    result = await publish_answer(wa.runtime.services, cluster.id, draft)
    assert result.notified == 2

    [notice] = (await wa.graph.wait_for(inside, 2))[1:]
    assert notice.type == "interactive" and "Park rangers" in notice.text
    [template] = (await wa.graph.wait_for(outside, 2))[1:]
    assert template.type == "template"
    assert template.body["template"]["name"] == "rumour_answered"
    assert template.body["template"]["language"] == {"code": "en_US"}
    [component] = template.body["template"]["components"]
    assert component["type"] == "body"
    [parameter] = component["parameters"]
    assert parameter["type"] == "text" and "Park rangers" in parameter["text"]
    assert "\n" not in parameter["text"]
    assert not [s for s in wa.graph.sent_to(outside)[1:] if s.type != "template"]


async def test_outside_the_window_without_a_template_nothing_free_form_is_sent(
        wa_settings: Settings, database: Database, embedder: Embedder, graph: FakeGraphAPI) -> None:
    settings = wa_settings.model_copy(update={"whatsapp_template_answer": None})
    async with open_whatsapp(settings, database, embedder, graph) as wa:
        chat = "254700000012"
        await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
        await wa.age_window(chat, hours=25)
        async with wa.runtime.services.db.session() as session:
            [cluster] = (await session.scalars(select(Cluster))).all()
        await publish_answer(wa.runtime.services, cluster.id,
                             AnswerDraft(verdict="false", explanation="Rangers say no."))
        for _ in range(200):
            rows = await wa.outbox(chat)
            if rows[-1].status == "dead":
                break
            await graph.wait_for(chat, 99, within=0.05)
        assert rows[-1].status == "dead"
        assert "no WhatsApp template" in (rows[-1].last_error or "")
        assert len(graph.sent_to(chat)) == 1  # only the earlier "queued" reply


async def test_suggestions_are_choices_and_a_pick_answers(
        wa_settings: Settings, database: Database, embedder: Embedder, graph: FakeGraphAPI) -> None:
    settings = wa_settings.model_copy(update={"answer_threshold": 1.01, "suggest_threshold": 0.01})
    async with open_whatsapp(settings, database, embedder, graph) as wa:
        await add_fact(wa, "Drinking hot water with lemon cures cholera within a day")
        await add_fact(wa, "Cholera vaccine in schools makes children sterile")
        await add_fact(wa, "Boiling water for one minute kills cholera germs")
        chat = "254700000020"
        [reply] = await wa.say(chat, meta.text_payload(chat, "cholera cure", forwarded=True))
        ids = button_ids(reply)  # the candidates, then "None of these"
        assert len(ids) >= 2 and ids[0].startswith("pick:") and ids[-1].startswith("none:")
        kind = reply.body["interactive"]["type"]
        assert kind == ("list" if len(ids) > 3 else "button")
        reply_payload = meta.list_reply_payload if kind == "list" else meta.button_reply_payload
        [answer] = await wa.say(chat, reply_payload(chat, ids[0], "Claim", reply.wamid))
        assert "FALSE" in answer.text
        [queued] = await wa.say(chat, reply_payload(chat, ids[-1], "None", reply.wamid))
        assert "city's team" in queued.text


async def test_language_list_and_template_quick_reply_button(wa: WhatsApp) -> None:
    chat = "254700000021"
    [welcome] = await wa.say(chat, meta.text_payload(chat, "/start"))
    assert welcome.body["interactive"]["type"] == "list"  # six languages > three buttons
    rows = welcome.body["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 6 and all(len(r["title"]) <= 24 for r in rows)
    # a Kenyan number: Swahili is the weak prior until the resident writes or chooses
    assert welcome.body["interactive"]["action"]["button"] == "Chagua"
    [done] = await wa.say(chat, meta.list_reply_payload(chat, "lang:sw", "Kiswahili",
                                                        welcome.wamid))
    assert (await wa.resident(chat)).language == "sw"
    assert done.type == "text"
    # a quick-reply button on a template carries our button data as its payload
    [again] = await wa.say(chat, meta.template_button_payload(chat, "lang:es", "Español",
                                                              done.wamid))
    assert (await wa.resident(chat)).language == "es"
    assert again.type == "text"


# -- receipts, STOP, and what cannot be checked --------------------------------------------
async def test_status_webhooks_are_recorded_against_the_outbox(wa: WhatsApp) -> None:
    chat = "254700000030"
    [reply] = await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
    for status in ("sent", "read", "delivered"):  # "delivered" after "read" must not downgrade
        assert (await wa.post(meta.status_payload(reply.wamid, chat, status))).status_code == 200
    [row] = await wa.outbox(chat)
    assert row.platform_message_id == reply.wamid and row.delivery_status == "read"


async def test_a_failed_status_with_the_opt_out_code_marks_the_resident(wa: WhatsApp) -> None:
    chat = "254700000031"
    [reply] = await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
    await wa.post(meta.status_payload(reply.wamid, chat, "failed", error_code=131050))
    [row] = await wa.outbox(chat)
    assert row.delivery_status == "failed"
    assert (await wa.resident(chat)).opted_out


STOP_WORDS = ["STOP", "stop.", "Unsubscribe", "ACHA", "Sitisha", "BAJA", "Parar", "berhenti",
              "रोकें", "बंद करो", "توقف", "إيقاف"]


async def test_stop_words_opt_the_resident_out(wa: WhatsApp) -> None:
    for number, word in enumerate(STOP_WORDS):
        chat = f"25470000{number:04d}"
        [reply] = await wa.say(chat, meta.text_payload(chat, word))
        resident = await wa.resident(chat)
        assert resident.opted_out and resident.topics == [], word
        assert reply.type == "text"
    async with wa.runtime.services.db.session() as session:
        assert (await session.scalars(select(Request))).all() == []  # not checked as claims


async def test_an_image_meta_no_longer_has_is_checked_by_its_caption_or_gets_a_polite_reply(
        wa: WhatsApp) -> None:
    await add_fact(wa, WATER)
    chat = "254700000050"
    [answer] = await wa.say(chat, meta.image_payload(chat, caption=WATER))
    assert "FALSE" in answer.text
    async with wa.runtime.services.db.session() as session:
        [request] = (await session.scalars(select(Request))).all()
    assert request.media == [{"kind": "image", "ref": "1003383421387256"}]
    [polite] = await wa.say(chat, meta.image_payload(chat))
    assert polite.type == "text" and "could not get this file" in polite.text


UNSUPPORTED = [
    ("sticker", {"mime_type": "image/webp", "sha256": "abc", "id": "555", "animated": False}),
    ("location", {"latitude": -1.286, "longitude": 36.817, "name": "Market", "address": "Nairobi"}),
    ("unsupported", {}),
]


async def test_unsupported_types_get_the_polite_reply(wa: WhatsApp) -> None:
    chat = "447700000051"  # a UK number: no country prior, so the replies are in English
    for kind, content in UNSUPPORTED:
        [reply] = await wa.say(chat, meta.message_payload(chat, kind, content))
        assert reply.type == "text" and "cannot check this kind" in reply.text, kind


async def test_a_ten_thousand_character_message(wa: WhatsApp) -> None:
    chat = "254700000052"
    text = ("The water is poisoned, share this now. " * 300)[:10_000]
    sent = await wa.say(chat, meta.text_payload(chat, text, forwarded=True), expect=2)
    assert all(len(s.text) <= 4096 for s in sent)
    assert any("very long" in s.text for s in sent)


async def test_a_long_answer_is_split_cleanly_before_the_buttons(wa: WhatsApp) -> None:
    explanation = "\n\n".join(f"Paragraph {i}: " + "rangers counted every lion twice. " * 30
                              for i in range(10))
    chat = "254700000053"
    await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
    async with wa.runtime.services.db.session() as session:
        [cluster] = (await session.scalars(select(Cluster))).all()
    await publish_answer(wa.runtime.services, cluster.id,
                         AnswerDraft(verdict="false", explanation=explanation))
    sent = (await wa.graph.wait_for(chat, 6))[1:]  # queued reply, then 4 text parts + buttons
    assert [s.type for s in sent[:-1]] == ["text"] * (len(sent) - 1) and len(sent) >= 3
    assert sent[-1].type == "interactive" and len(sent[-1].text) <= 1024
    assert all(len(s.text) <= 4096 for s in sent)
    assert "".join(s.text for s in sent).count("rangers counted every lion twice.") == 300


async def test_malformed_bodies_get_400_and_huge_ones_413(wa: WhatsApp) -> None:
    for raw in (b"not json", b"{", b"\xff\xfe"):
        response = await wa.post(None, raw=raw)
        assert response.status_code == 400
    response = await wa.post(None, raw=b" " * 1_000_001)
    assert response.status_code == 413


MALFORMED: list[Any] = [
    [], {}, None, "text", {"object": "page", "entry": []}, {"object": "whatsapp_business_account"},
    {"object": "whatsapp_business_account", "entry": "x"},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": None}]}]},
    meta.envelope({"messages": [{"from": "254700000060", "type": "text"}]}),  # no id
    meta.envelope({"messages": [{"id": "wamid.x", "from": 5, "type": "text"}]}),
    meta.envelope({"messages": [{"id": "wamid.y", "from": "254700000060", "type": "interactive",
                                 "interactive": {"type": "button_reply"}}]}),
    meta.envelope({"messages": [{"id": "wamid.z", "from": "254700000060", "type": "text",
                                 "text": "not an object", "timestamp": "soon"}]}),
    meta.envelope({"statuses": [{"status": "read"}]}),
    meta.envelope({"messages": "nope", "statuses": {"id": 1}}),
    meta.text_payload("254700000060", "someone else's number", phone_number_id="999"),
]


async def test_malformed_payloads_are_ignored_without_a_crash(wa: WhatsApp) -> None:
    for payload in MALFORMED:
        response = await wa.post(payload)
        assert response.status_code == 200, payload
    wa.runtime.services.dispatcher.wake()
    await wa.graph.wait_for("254700000060", 1, within=0.5)
    assert wa.graph.sent_to("254700000060") == []
    chat = "254700000061"  # and the channel still works
    [reply] = await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
    assert "city's team" in reply.text


# -- send errors ---------------------------------------------------------------------------
def notice(chat: str) -> OutboundMessage:
    return OutboundMessage(chat_id=chat, text="The city's team answered.\n\nFALSE: lions.",
                           buttons=(Button("Yes", "fb:1:1"), Button("No", "fb:1:0")),
                           language="en", template="notify_answered",
                           template_params=("The city's team answered. FALSE: lions.",))


async def recipient(wa: WhatsApp, chat: str) -> Recipient:
    """What the dispatcher tells the channel about `chat` (when they wrote, opted out)."""
    resident = await wa.resident(chat)
    return Recipient(resident.last_inbound_at, resident.opted_out)


async def queue_notice(wa: WhatsApp, chat: str) -> None:
    async with wa.runtime.services.db.session() as session:
        resident = (await session.scalars(select(Resident).where(
            Resident.channel == "whatsapp", Resident.chat_id == chat))).one()
        await enqueue(session, resident, notice(chat), OutboxKind.NOTIFICATION)
    wa.runtime.services.dispatcher.wake()


async def settled(wa: WhatsApp, chat: str) -> OutboxMessage:
    """The chat's last outbox row once it is sent or dead."""
    for _ in range(200):
        rows = await wa.outbox(chat)
        if rows and rows[-1].status in ("sent", "dead"):
            return rows[-1]
        await wa.graph.wait_for(chat, 99, within=0.05)
    raise AssertionError("the row did not settle")


async def test_rate_limits_ask_to_retry_later(wa: WhatsApp) -> None:
    chat = "254700000070"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    to = await recipient(wa, chat)
    for code, wait, who in ((130429, 5.0, "channel"), (131056, 60.0, "chat"),
                            (80007, 60.0, "channel")):
        wa.graph.fail(code, to=chat)
        with pytest.raises(DeliveryFailed) as failed:
            await wa.channel.send(notice(chat), to)
        assert failed.value.retry_after == wait and not failed.value.permanent
        assert failed.value.throttled == who
    assert await wa.channel.send(notice(chat), to)


async def test_the_opt_out_code_marks_the_resident(wa: WhatsApp) -> None:
    chat = "254700000071"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    await wa.age_window(chat, hours=48)
    wa.graph.fail(131050, to=chat)
    await queue_notice(wa, chat)
    row = await settled(wa, chat)
    assert row.status == "dead" and "131050" in (row.last_error or "")
    assert (await wa.resident(chat)).opted_out  # recorded by the dispatcher from the report
    requests = wa.graph.requests
    await queue_notice(wa, chat)  # and no more notifications are attempted
    row = await settled(wa, chat)
    assert row.status == "dead" and "opted out" in (row.last_error or "")
    assert wa.graph.requests == requests


async def test_reengagement_error_falls_back_to_the_template(wa: WhatsApp) -> None:
    chat = "254700000072"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    to = await recipient(wa, chat)
    wa.graph.fail(131047, to=chat)  # Meta thinks the window closed, though we did not
    assert await wa.channel.send(notice(chat), to)
    assert wa.graph.sent_to(chat)[-1].type == "template"
    wa.graph.fail(131047, to=chat)
    reply = OutboundMessage(chat_id=chat, text="Thanks", language="en")
    with pytest.raises(DeliveryFailed) as failed:  # a plain reply has no template
        await wa.channel.send(reply, to)
    assert failed.value.permanent


async def test_undeliverable_is_permanent(wa: WhatsApp) -> None:
    chat = "254700000073"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    wa.graph.fail(131026, to=chat)
    with pytest.raises(DeliveryFailed) as failed:
        await wa.channel.send(OutboundMessage(chat_id=chat, text="hi"), await recipient(wa, chat))
    assert failed.value.permanent and "131026" in str(failed.value)


def test_channel_is_off_without_settings_and_refuses_half_a_configuration(
        settings: Settings, graph: FakeGraphAPI, database: Database, embedder: Embedder) -> None:
    services = build_services(settings, db=database, embedder=embedder)
    assert from_settings(services, Conversation(services)) is None
    half = whatsapp_settings(settings, graph, whatsapp_app_secret=None)
    services = build_services(half, db=database, embedder=embedder)
    with pytest.raises(WhatsAppConfigError, match="RUMOURBOT_WHATSAPP_APP_SECRET"):
        from_settings(services, Conversation(services))


async def test_forget_deletes_the_resident_and_still_confirms_inside_the_window(
        wa: WhatsApp) -> None:
    chat = "254700000060"
    await wa.say(chat, meta.text_payload(chat, "Is it true the stadium is being demolished"))
    [reply] = await wa.say(chat, meta.text_payload(chat, "/forget"))
    assert reply.type == "text" and "deleted" in reply.text  # free-form: the window is open
    async with wa.runtime.services.db.session() as session:
        assert (await session.scalars(select(Request))).all() == []
