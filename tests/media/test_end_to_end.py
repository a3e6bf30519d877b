"""Photos, voice notes and videos made by the tests, sent through the fake Telegram Bot API
and the fake Graph API, answered from the knowledge base or queued with their media for staff.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.models import Cluster, MediaHash, MediaJob, Request
from domain.settings import Settings
from matching import Embedder
from tests.admin.conftest import add_user, login
from tests.bot.channels.test_telegram_e2e import build_runtime, telegram_settings
from tests.bot.channels.test_whatsapp import WhatsApp, open_whatsapp, whatsapp_settings
from tests.fakes import graph_api as meta
from tests.fakes.graph_api import FakeGraphAPI, Sent
from tests.fakes.telegram_api import FakeTelegram
from tests.media import samples

pytestmark = pytest.mark.filterwarnings("ignore:PluginImportFixer.find_spec:ImportWarning")

WATER = samples.NOTICES["en"]  # a fact-check quotes the rumour it debunks
WAIT = 90.0  # seconds; a voice note is transcribed on a busy 2-core machine


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def telegram(settings: Settings, database: Database, embedder: Embedder,
                   fake: FakeTelegram) -> AsyncIterator[Runtime]:
    fake.reset()
    rt = build_runtime(telegram_settings(settings, fake, telegram_mode="polling"), database,
                       embedder)
    async with rt.running():
        await add_water_fact(rt)
        yield rt


@pytest.fixture
async def wa(settings: Settings, database: Database, embedder: Embedder) -> AsyncIterator[WhatsApp]:
    with FakeGraphAPI() as graph:
        async with open_whatsapp(whatsapp_settings(settings, graph), database, embedder,
                                 graph) as whatsapp:
            await add_water_fact(whatsapp.runtime)
            yield whatsapp


async def add_water_fact(rt: Runtime) -> None:
    async with rt.services.db.session() as session:
        await upsert_item(session, ItemData(
            claim=WATER, verdict="false", explanation="Only a 12-hour cut in one district.",
            source_url="https://example.org/fc/water", publisher="City Water Board"))
    await rt.services.knowledge.refresh()


async def tell(fake: FakeTelegram, update: dict[str, Any], chat: int,
               n: int = 1) -> list[dict[str, Any]]:
    before = len(fake.sent_to(chat))
    fake.push_update(update)
    sent = await fake.wait_for_messages(chat, before + n, timeout=WAIT)
    assert len(sent) >= before + n, f"{len(sent) - before} of {n} replies"
    return sent[before:]


async def requests_of(rt: Runtime) -> list[Request]:
    async with rt.services.db.session() as session:
        return list((await session.scalars(select(Request).order_by(Request.id))).all())


# -- Telegram ---------------------------------------------------------------------------------
async def test_a_photo_of_a_fake_notice_without_caption_is_read_and_answered(
        telegram: Runtime, fake: FakeTelegram, notices: dict[str, bytes]) -> None:
    [answer] = await tell(fake, fake.photo_update(701, content=notices["en"]), 701)
    assert "FALSE" in answer["text"] and "12-hour" in answer["text"]
    [request] = await requests_of(telegram)
    assert request.outcome == "answer" and "water" in request.media[0]["ocr_text"]


async def test_a_voice_note_is_acknowledged_at_once_then_answered(
        telegram: Runtime, fake: FakeTelegram, voice_notes: dict[str, bytes]) -> None:
    update = fake.file_update(702, "voice", voice_notes["en"], mime_type="audio/ogg")
    listening, answer = await tell(fake, update, 702, n=2)
    assert "listening to your voice note" in listening["text"]
    assert "FALSE" in answer["text"]
    [request] = await requests_of(telegram)
    assert "water" in request.media[0]["transcript"].lower()


async def test_a_video_is_watched_heard_and_answered(
        telegram: Runtime, fake: FakeTelegram, notice_video: bytes) -> None:
    update = fake.file_update(703, "video", notice_video, mime_type="video/mp4")
    watching, answer = await tell(fake, update, 703, n=2)
    assert "watching your video" in watching["text"]
    assert "FALSE" in answer["text"]


async def test_an_unknown_image_is_queued_with_its_media_and_its_copies_answered_once_staff_do(
        telegram: Runtime, fake: FakeTelegram) -> None:
    rumour = samples.notice("en", "Lions escaped from the national park and walk in the market",
                            title="ALERT", seed=4)
    [queued] = await tell(fake, fake.photo_update(704, content=samples.jpeg(rumour)), 704)
    assert "passed to the city's team" in queued["text"]
    [request] = await requests_of(telegram)
    assert request.cluster_id is not None and request.media[0]["file"]
    stored = telegram.conversation.media.stage.store.path(request.media[0]["file"])
    assert stored is not None
    await publish_answer(telegram.services, request.cluster_id, AnswerDraft(
        verdict="false", explanation="No animal has left the park.", author="staff"))
    await fake.wait_for_messages(704, 2, timeout=WAIT)  # the asker is told
    # a screenshot of a recompressed copy, no words matching: recognised by its pHash
    copy = samples.degraded(rumour, scale=0.6, quality=45, crop=0.02)
    [answer] = await tell(fake, fake.photo_update(705, content=copy), 705)
    assert "FALSE" in answer["text"] and "No animal" in answer["text"]
    async with telegram.services.db.session() as session:
        item_hashes = (await session.scalars(
            select(MediaHash).where(MediaHash.knowledge_item_id.is_not(None)))).all()
    assert item_hashes


async def test_staff_see_the_voice_note_and_the_image_with_what_the_machine_read(
        telegram: Runtime, fake: FakeTelegram, voice_notes: dict[str, bytes]) -> None:
    lions = samples.notice("en", "Lions escaped from the national park and walk in the market",
                           seed=6)
    await tell(fake, fake.photo_update(707, content=samples.jpeg(lions)), 707)
    note = fake.file_update(707, "voice", voice_notes["sw"], mime_type="audio/ogg",
                            language="sw")
    await tell(fake, note, 707, n=2)
    await add_user(telegram, "viewer", "viewer")
    transport = httpx.ASGITransport(app=Starlette(routes=telegram.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await login(client, "viewer")).status_code == 303
        requests = await requests_of(telegram)
        pages = {(await client.get(f"/admin/clusters/{r.cluster_id}")).text
                 for r in requests if r.cluster_id is not None}
        page = "".join(pages)
        assert '<img class="thumb"' in page and "<audio controls" in page
        assert "Read from the image by machine (OCR)" in page and "Lions" in page
        assert "Transcribed by machine" in page
        image = await client.get(f"/admin/media/{requests[0].id}/0")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        voice = await client.get(f"/admin/media/{requests[-1].id}/0")
        assert voice.status_code == 200 and voice.headers["content-type"] == "audio/ogg"
        assert voice.content == voice_notes["sw"]


async def test_bad_files_get_a_clear_reply_and_a_text_behind_them_is_not_delayed(
        telegram: Runtime, fake: FakeTelegram, notices: dict[str, bytes],
        three_hours: bytes, silent_video: bytes) -> None:
    chat = 706
    truncated = notices["en"][: len(notices["en"]) // 3]
    cases: list[tuple[dict[str, Any], int, str]] = [
        (fake.file_update(chat, "document", b"", file_name="notice.jpg"), 1,
         "could not open this file"),
        (fake.photo_update(chat, content=truncated), 1, "could not open this file"),
        (fake.file_update(chat, "document", samples.png_bomb(), mime_type="image/png",
                          file_name="big.png"), 1, "too big or too long"),
        (fake.file_update(chat, "document", b"%PDF-1.7\n" + b"0" * 2000, mime_type="image/jpeg",
                          file_name="photo.jpg"), 1, "cannot check this kind"),
        (fake.file_update(chat, "audio", three_hours, mime_type="audio/mpeg",
                          duration=10_800), 2, "too big or too long"),
    ]
    for update, n, expected in cases:
        replies = await tell(fake, update, chat, n=n)
        assert expected in replies[-1]["text"], expected
    # a video without sound: its picture is still read, and answered
    watching, answer = await tell(fake, fake.file_update(chat, "video", silent_video,
                                                         mime_type="video/mp4"), chat, n=2)
    assert "FALSE" in answer["text"]
    # a text sent while a video is being read is answered without waiting for the video
    before = len(fake.sent_to(chat))
    fake.push_update(fake.file_update(chat, "video", silent_video, mime_type="video/mp4"))
    started = time.monotonic()
    fake.push_update(fake.message_update(chat, WATER, forwarded=True))
    sent = await fake.wait_for_messages(chat, before + 3, timeout=WAIT)
    texts = [m["text"] for m in sent[before:]]
    assert any("watching" in t for t in texts) and sum(("FALSE" in t) for t in texts) >= 1
    assert time.monotonic() - started < WAIT
    async with telegram.services.db.session() as session:
        jobs = (await session.scalars(select(MediaJob))).all()
    assert jobs and all(j.status in ("done", "running", "pending") for j in jobs)


# -- WhatsApp ---------------------------------------------------------------------------------
async def whatsapp_say(wa: WhatsApp, chat: str, payload: dict[str, Any], n: int) -> list[Sent]:
    before = len(wa.graph.sent_to(chat))
    response = await wa.post(payload)
    assert response.status_code == 200
    wa.runtime.services.dispatcher.wake()
    sent = await wa.graph.wait_for(chat, before + n, within=WAIT)
    assert len(sent) >= before + n
    return sent[before:]


async def test_whatsapp_image_and_voice_note_are_downloaded_with_the_token_and_answered(
        wa: WhatsApp, notices: dict[str, bytes], voice_notes: dict[str, bytes]) -> None:
    chat = "447700900801"  # a UK number: English by default
    image = wa.graph.add_media(notices["en"], "image/jpeg")
    [answer] = await whatsapp_say(wa, chat, meta.media_payload(chat, "image", image,
                                                                "image/jpeg"), 1)
    assert "FALSE" in answer.text
    voice = wa.graph.add_media(voice_notes["en"], "audio/ogg; codecs=opus")
    listening, heard = await whatsapp_say(
        wa, chat, meta.media_payload(chat, "audio", voice, "audio/ogg; codecs=opus", voice=True),
        2)
    assert "listening" in listening.text and "FALSE" in heard.text
    assert wa.graph.media_requests == [image, voice]


async def test_whatsapp_swahili_voice_note_is_answered_or_queued_with_its_transcript(
        wa: WhatsApp, voice_notes: dict[str, bytes]) -> None:
    chat = "254700000802"
    await whatsapp_say(wa, chat, meta.text_payload(chat, "/language sw"), 1)
    voice = wa.graph.add_media(voice_notes["sw"], "audio/ogg; codecs=opus")
    listening, outcome = await whatsapp_say(
        wa, chat, meta.media_payload(chat, "audio", voice, "audio/ogg; codecs=opus", voice=True),
        2)
    assert "Ninasikiliza" in listening.text
    [request] = await requests_of(wa.runtime)
    assert request.media[0]["transcript"] and request.media[0]["machine_read"]
    assert request.outcome in ("answer", "queue", "suggest")
    if request.outcome == "queue":
        async with wa.runtime.services.db.session() as session:
            assert await session.get(Cluster, request.cluster_id) is not None


async def test_an_expired_whatsapp_media_url_is_fetched_again(
        wa: WhatsApp, notices: dict[str, bytes]) -> None:
    chat = "447700900803"
    wa.graph.media_url_seconds = 0.0  # every URL has expired by the time it is fetched
    image = wa.graph.add_media(notices["en"], "image/jpeg")
    [reply] = await whatsapp_say(wa, chat, meta.media_payload(chat, "image", image,
                                                               "image/jpeg"), 1)
    assert "could not get this file" in reply.text
    assert wa.graph.media_requests == [image, image]
