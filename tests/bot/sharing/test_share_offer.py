"""After an answer, a resident is offered the card to pass on, in their language, through the
fake Bot API: the answer first, then the card as a photo with the forward-ready text."""

from __future__ import annotations

import asyncio

from bot.conversation.publishing import AnswerDraft
from bot.runtime.app import Runtime
from tests.bot.channels.test_telegram_e2e import say
from tests.bot.telegram_support import publish_claim
from tests.fakes.telegram_api import FakeTelegram

SIMBA = "Simba wametoroka kutoka hifadhi ya taifa na wanatembea sokoni usiku huu"
TELEGRAM = {"telegram_bot_username": "rumourbot_test_bot"}  # settings of the `bot` fixture


async def test_an_answer_is_followed_by_the_card_to_share_in_the_residents_language(
    bot: Runtime, fake: FakeTelegram
) -> None:
    draft = AnswerDraft(
        verdict="false", explanation="Park rangers confirm every lion is inside.",
        translations={"sw": {"claim": SIMBA, "explanation": "Walinzi: wote wako ndani."}})
    answer_id = await publish_claim(bot, draft)
    answer, offer = await say(fake, fake.message_update(601, SIMBA, language="sw",
                                                        forwarded=True), 601, n=2)
    assert answer["text"].startswith("❌ SI KWELI") and "photo" not in answer
    assert offer["photo"].endswith(f"/claims/{answer_id}/card.png?lang=sw")
    assert offer["text"].startswith("Shiriki hili na vikundi vyako")
    assert "t.me/rumourbot_test_bot" in offer["text"] and len(offer["text"]) <= 1024
    # the same rumour again: the answer, but the card is offered once
    [again] = await say(fake, fake.message_update(601, SIMBA, language="sw", forwarded=True), 601)
    assert again["text"].startswith("❌ SI KWELI")
    await asyncio.sleep(0.5)
    assert len(fake.sent_to(601)) == 3
