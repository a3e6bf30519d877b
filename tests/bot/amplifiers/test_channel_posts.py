"""The city's public channel, through the fake Bot API: a published answer is posted with its
card in each configured language it has, and a correction edits that post."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, correct_answer
from bot.runtime.app import Runtime
from domain.models import OutboxMessage
from tests.bot.telegram_support import publish_claim
from tests.fakes.telegram_api import FakeTelegram

# settings of the `bot` fixture
TELEGRAM = {"telegram_channels": "en=@city_en, sw=-1009876543210, es=@city_es"}


async def until(check: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert check()


async def test_a_published_answer_is_posted_then_edited_on_correction(
    bot: Runtime, fake: FakeTelegram
) -> None:
    sw = {"sw": {"claim": "Simba wametoroka hifadhini", "explanation": "Wote wako ndani."}}
    draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.",
                        translations=sw)
    answer_id = await publish_claim(bot, draft)
    await until(lambda: fake.sent_to("@city_en") and fake.sent_to(-1009876543210))
    [en] = fake.sent_to("@city_en")
    [sw_post] = fake.sent_to(-1009876543210)
    assert en["photo"].endswith(f"/claims/{answer_id}/card.png?lang=en")
    assert en["text"].startswith("❌ FALSE") and "every lion is inside" in en["text"]
    assert sw_post["photo"].endswith("card.png?lang=sw") and "SI KWELI" in sw_post["text"]
    assert not fake.sent_to("@city_es")  # the answer has no Spanish
    posts: list[OutboxMessage] = []

    async def recorded() -> bool:
        async with bot.services.db.session() as session:
            posts[:] = (await session.scalars(select(OutboxMessage).where(
                OutboxMessage.dedup_key.like("channel-post:%")))).all()
        return all(p.platform_message_id for p in posts)

    deadline = time.monotonic() + 20
    while not await recorded() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert sorted(str(p.platform_message_id) for p in posts) == sorted(
        [str(en["message_id"]), str(sw_post["message_id"])])

    fixed = AnswerDraft(verdict="false", explanation="Park rangers: all 14 lions are inside.",
                        translations=sw)
    await correct_answer(bot.services, answer_id, fixed)
    await until(lambda: fake.edits)
    await asyncio.sleep(0.3)
    assert [(e["chat_id"], e["message_id"]) for e in fake.edits] == [("@city_en", en["message_id"])]
    assert "all 14 lions are inside" in fake.edits[0]["caption"]
    assert fake.sent_to("@city_en")[0]["text"] == fake.edits[0]["caption"]
    assert len(fake.sent_to("@city_en")) == 1  # edited, not posted again
