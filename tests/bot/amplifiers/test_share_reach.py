"""Reach through shared cards, through the fake Bot API and the panel: the share offer's
link carries the answer's share code; a new resident who follows it gets the welcome and the
answer, and is counted once for that answer beside the residents it reached directly."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from bot.conversation.publishing import AnswerDraft
from bot.runtime.app import Runtime
from domain.db import Database
from domain.models import (
    ItemStatus,
    KnowledgeItem,
    Resident,
    ShareArrival,
)
from domain.residents import forget
from domain.settings import Settings
from matching import Embedder
from tests.bot.channels.test_telegram_e2e import say
from tests.bot.channels.test_whatsapp import graph, open_whatsapp, whatsapp_settings  # noqa: F401
from tests.bot.telegram_support import LIONS, panel_as, publish_claim
from tests.fakes import graph_api as meta
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.telegram_api import FakeTelegram

ASKER, NEWCOMER, LATECOMER = 9301, 9302, 9303
TELEGRAM = {"telegram_bot_username": "CityFactsBot"}  # settings of the `bot` fixture


async def arrivals(rt: Runtime) -> int:
    async with rt.services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ShareArrival)) or 0)


async def test_a_new_resident_through_a_shared_card_is_counted_once(
    bot: Runtime,
    fake: FakeTelegram,
) -> None:
    draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.")
    answer_id = await publish_claim(bot, draft)

    # the asker gets the answer, then the card to pass on: its link carries the share code
    sent = await say(fake, fake.message_update(ASKER, LIONS, forwarded=True), ASKER, n=2)
    card = next(m for m in sent if m.get("photo"))
    assert card["text"].endswith(f"t.me/CityFactsBot?start=a{answer_id}")
    assert "@" not in card["text"].rsplit("start=", 1)[1]  # the code names no one

    # someone in the asker's group follows the link: welcome, then the answer itself
    welcome, answer = await say(fake, fake.message_update(NEWCOMER, f"/start a{answer_id}"),
                                NEWCOMER, n=2)
    assert "Forward me any message" in welcome["text"]
    assert "Park rangers: every lion is inside." in answer["text"]
    again = await say(fake, fake.message_update(NEWCOMER, f"/start a{answer_id}"), NEWCOMER, n=2)
    assert "Park rangers" in again[1]["text"]
    assert await arrivals(bot) == 1  # starting twice counts once
    # someone the bot already knew is no new reach
    await say(fake, fake.message_update(ASKER, f"/start a{answer_id}"), ASKER, n=2)
    assert await arrivals(bot) == 1

    async with panel_as(bot, "viewer") as panel:
        page = (await panel.get(f"/admin/answers/{answer_id}/cards")).text
        shown = re.sub(r"<[^>]+>", "", page)
        assert "Reached: 1 resident directly, 1 new through shared cards' links." in shown
        assert f"t.me/CityFactsBot?start=a{answer_id}" in page  # the forward-ready text

    async with bot.services.db.session() as session:  # the answer is withdrawn
        await session.execute(update(KnowledgeItem).values(status=ItemStatus.RETIRED))
    late = await say(fake, fake.message_update(LATECOMER, f"/start a{answer_id}"), LATECOMER)
    assert "Forward me any message" in late[0]["text"]
    assert len(await fake.wait_for_messages(LATECOMER, 2, timeout=0.5)) == 1  # no answer
    assert await arrivals(bot) == 1

    async with bot.services.db.session() as session:  # /forget takes the arrival with it
        newcomer = (await session.scalars(
            select(Resident).where(Resident.chat_id == str(NEWCOMER)))).one()
        await forget(session, newcomer)
    assert await arrivals(bot) == 0


async def test_on_whatsapp_the_prefilled_code_counts_the_newcomer(
    settings: Settings,
    database: Database,
    embedder: Embedder,
    graph: FakeGraphAPI,  # noqa: F811
) -> None:
    city = whatsapp_settings(settings, graph, whatsapp_number="+254 700 123456")
    async with open_whatsapp(city, database, embedder, graph) as wa:
        draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.")
        answer_id = await publish_claim(wa.runtime, draft)
        shared = (await wa.client.get(f"/claims/{answer_id}/share.txt")).text
        assert shared.endswith(f"https://wa.me/254700123456?text=%2Fstart%20a{answer_id}")

        newcomer = "254700000777"  # pressed Send on the prefilled "/start a<id>"
        replies = await wa.say(newcomer, meta.text_payload(newcomer, f"/start a{answer_id}"), 2)
        assert any("Park rangers: every lion is inside." in r.text for r in replies)
        assert await arrivals(wa.runtime) == 1
