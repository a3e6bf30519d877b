"""Residents' journeys in the web chat, in a real browser, per language (one server, one
browser, one page per language with that language in its Accept-Language header).

Forward a rumour; the suggestion lists numbered full texts; pick one; the answer comes in the
resident's language, verdict first with its symbol, the publisher and a local date. A second
suggestion left alone is queued after the timeout (the resident is told once) and answered when
staff publish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from bot.conversation.claims import queue_stale_suggestions
from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from bot.texts.catalogue import text
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.models import Request, utcnow
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.admin.live import chromium, serve

pytestmark = pytest.mark.browser
CHOLERA = {
    "en": "Drinking hot water with lemon cures cholera within a day",
    "sw": "Kunywa maji ya moto yenye limau kunatibu kipindupindu ndani ya siku moja",
    "hi": "नींबू वाला गर्म पानी पीने से एक दिन में हैजा ठीक हो जाता है",
    "ar": "شرب الماء الساخن مع الليمون يشفي الكوليرا خلال يوم واحد",
    "es": "Beber agua caliente con limón cura el cólera en un día",
    "id": "Minum air panas dengan lemon menyembuhkan kolera dalam sehari",
}
EXPLAINED = {
    "en": "Cholera needs a clinic and oral rehydration salts.",
    "sw": "Kipindupindu kinahitaji kliniki na chumvi za kurejesha maji mwilini.",
    "hi": "हैजे के लिए क्लिनिक और ओआरएस घोल ज़रूरी है।",
    "ar": "الكوليرا تحتاج إلى عيادة وأملاح الإرواء الفموي.",
    "es": "El cólera necesita una clínica y sales de rehidratación oral.",
    "id": "Kolera perlu klinik dan oralit.",
}
BRIDGE = {
    "en": "Is it true that the river road bridge fell down and many cars are in the water?",
    "sw": "Je, ni kweli kwamba daraja la barabara ya mto limeanguka na magari mengi yamo majini?",
    "hi": "क्या यह सच है कि नदी वाली सड़क का पुल गिर गया और कई गाड़ियाँ पानी में हैं?",
    "ar": "هل صحيح أن جسر طريق النهر سقط وأن سيارات كثيرة في الماء؟",
    "es": "¿Es verdad que el puente del río se cayó y hay muchos coches en el agua?",
    "id": "Apakah benar jembatan jalan sungai runtuh dan banyak mobil masuk ke air?",
}
BRIDGE_ITEM = {
    "en": "The river road bridge will close for repairs in November",
    "sw": "Daraja la barabara ya mto litafungwa kwa matengenezo mwezi Novemba",
    "hi": "नदी वाली सड़क का पुल नवंबर में मरम्मत के लिए बंद रहेगा",
    "ar": "سيُغلق جسر طريق النهر للصيانة في نوفمبر",
    "es": "El puente de la carretera del río cerrará por reparaciones en noviembre",
    "id": "Jembatan jalan sungai akan ditutup untuk perbaikan pada bulan November",
}
BRIDGE_ANSWER = {
    "en": "The bridge is open; engineers inspected it today.",
    "sw": "Daraja liko wazi; wahandisi wamelikagua leo.",
    "hi": "पुल खुला है; इंजीनियरों ने आज इसकी जाँच की।",
    "ar": "الجسر مفتوح؛ فحصه المهندسون اليوم.",
    "es": "El puente está abierto; los ingenieros lo revisaron hoy.",
    "id": "Jembatan itu dibuka; para insinyur memeriksanya hari ini.",
}
HEARD = {  # the rumour in the resident's own words, not the fact-check's
    "en": "My neighbour says lemon in hot water heals cholera fast. True?",
    "sw": "Jirani yangu anasema limau kwenye maji ya moto huponya kipindupindu haraka. Kweli?",
    "hi": "मेरे पड़ोसी कहते हैं कि गर्म पानी में नींबू से हैजा जल्दी ठीक होता है। सच?",
    "ar": "جاري يقول إن الليمون في الماء الساخن يعالج الكوليرا بسرعة. صحيح؟",
    "es": "Mi vecino dice que el limón en agua caliente quita el cólera rápido. ¿Es verdad?",
    "id": "Kata tetangga, air hangat pakai lemon bisa bikin kolera hilang. Benar begitu?",
}
DATES = {
    "en": "2 Oct 2026",
    "sw": "2 Okt 2026",
    "hi": "2 अक्टूबर 2026",
    "ar": "2 أكتوبر 2026",
    "es": "2 oct 2026",
    "id": "2 Okt 2026",
}


@pytest.fixture
async def suggesting(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> AsyncIterator[Runtime]:
    loose = settings.model_copy(update={"answer_threshold": 0.999, "suggest_threshold": 0.01})
    rt = Runtime(loose, services=build_services(loose, database, embedder, intent_parser))
    engine = rt.services.knowledge.engine  # suggest, never answer outright (any language)
    engine.thresholds = replace(engine.thresholds, answer=1.01, answer_cross=1.01, suggest=0.01)
    async with rt.running():
        async with rt.services.db.session() as session:
            for code in CHOLERA:  # the desk's fact-checks, one per language
                await upsert_item(
                    session,
                    ItemData(
                        claim=CHOLERA[code],
                        verdict="false",
                        explanation=EXPLAINED[code],
                        language=code,
                        publisher="Health Desk",
                        published_at=datetime(2026, 10, 2, 9, tzinfo=UTC),
                    ),
                )
                await upsert_item(
                    session,
                    ItemData(
                        claim=BRIDGE_ITEM[code],
                        verdict="true",
                        explanation="Roads authority.",
                        language=code,
                        publisher="City Hall",
                    ),
                )
        await rt.services.knowledge.refresh()
        yield rt


async def bot_messages(page: Page, count: int) -> list[str]:
    await page.locator(".msg.bot").nth(count - 1).wait_for(timeout=20_000)
    return [m.strip() for m in await page.locator(".msg.bot").all_inner_texts()]


async def send(page: Page, words: str) -> None:
    await page.fill("#text", words)
    await page.click("#form button[type=submit]")


async def test_journeys_in_every_language(suggesting: Runtime) -> None:
    rt = suggesting
    async with serve(rt) as base, chromium() as browser:
        for code in CHOLERA:
            context = await browser.new_context(extra_http_headers={"Accept-Language": code})
            page = await context.new_page()
            await page.goto(f"{base}/chat")
            await send(page, HEARD[code])
            [offer] = await bot_messages(page, 1)
            assert text("suggest", code) in offer, code
            verdict = text("verdict.false", code)
            assert f"1. ❌ {verdict}: " in offer and CHOLERA[code][:20] in offer, (code, offer)
            await page.locator(".msg.bot").last.locator("button").first.click()
            answer = (await bot_messages(page, 2))[-1]
            assert answer.startswith(f"❌ {verdict}: "), (code, answer)
            assert EXPLAINED[code] in answer and "Health Desk" in answer, (code, answer)
            assert DATES[code] in answer, (code, answer)
            # a second question, offered candidates, left alone
            await send(page, BRIDGE[code])
            offer = (await bot_messages(page, 3))[-1]
            assert text("suggest", code) in offer, (code, offer)
            async with rt.services.db.session() as session:
                assert await queue_stale_suggestions(session, utcnow() + timedelta(minutes=1))
                request = await session.scalar(select(Request).order_by(Request.id.desc()))
                assert request is not None and request.cluster_id is not None
            rt.services.dispatcher.wake()
            told = (await bot_messages(page, 4))[-1]
            assert told == text("queued_after_suggestion", code), (code, told)
            draft = AnswerDraft(
                verdict="false",
                explanation=BRIDGE_ANSWER["en"],
                translations={c: {"explanation": BRIDGE_ANSWER[c]} for c in BRIDGE if c != "en"},
            )
            result = await publish_answer(rt.services, request.cluster_id, draft)
            assert result.notified == 1
            notified = (await bot_messages(page, 5))[-1]
            assert notified.startswith(text("notify_answered", code)), (code, notified)
            assert f"❌ {verdict}" in notified and BRIDGE_ANSWER[code] in notified, code
            await context.close()
