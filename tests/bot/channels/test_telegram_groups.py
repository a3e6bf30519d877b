"""The bot in a Telegram group, through the fake Bot API: quiet unless it can help.

Chatter gets nothing (and is never stored); a forward of a published rumour gets one short
reply with the card; `/check` as a reply and a mention ask; `/quiet` from an admin silences it;
the same rumour forwarded again the same day gets no second reply; the group's sends are
paced to Telegram's 20 a minute.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.conversation.publishing import AnswerDraft
from bot.delivery.pacing import GROUP_BURST
from bot.runtime.app import Runtime
from domain.messages import OutboundMessage
from domain.models import Cluster, InboxMessage, OutboxMessage, Request, utcnow
from domain.outbox import enqueue
from domain.residents import resident_for
from tests.bot.telegram_support import LIONS, publish_claim
from tests.fakes.telegram_api import FakeTelegram

GROUP = -1001234567890
ADMIN, MEMBER, OTHER = 7001, 7002, 7003
WAIT = 20.0
QUIET_SECONDS = 0.4  # how long "no reply" is waited for (replies take milliseconds)
TELEGRAM = {"telegram_bot_username": "rumourbot_test_bot"}  # settings of the `bot` fixture


@pytest.fixture
def group_bot(bot: Runtime, fake: FakeTelegram) -> Runtime:
    fake.chat_admins[str(GROUP)] = {ADMIN}
    return bot


async def publish_lions(rt: Runtime) -> int:
    draft = AnswerDraft(verdict="false", explanation="Park rangers counted every lion this "
                        "morning: all of them are inside the park, behind its fence.")
    return await publish_claim(rt, draft)


async def said(fake: FakeTelegram, update: dict[str, Any], n: int = 1) -> list[dict[str, Any]]:
    """Push `update` and return the `n` new messages in the group."""
    before = len(fake.sent_to(GROUP))
    fake.push_update(update)
    sent = await fake.wait_for_messages(GROUP, before + n, timeout=WAIT)
    assert len(sent) >= before + n, f"no reply to {update}"
    return sent[before:]


async def silent(fake: FakeTelegram, update: dict[str, Any]) -> None:
    before = len(fake.sent_to(GROUP))
    fake.push_update(update)
    await asyncio.sleep(QUIET_SECONDS)
    assert len(fake.sent_to(GROUP)) == before, fake.sent_to(GROUP)[before:]


async def count(rt: Runtime, model: Any) -> int:
    async with rt.services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_chatter_gets_no_reply_and_is_never_stored(
    group_bot: Runtime, fake: FakeTelegram
) -> None:
    await publish_lions(group_bot)
    for words in ("Good morning everyone!", "hello", "who is bringing the chairs tomorrow?",
                  "/start", "/help"):
        fake.push_update(fake.group_update(GROUP, MEMBER, words))
    await silent(fake, fake.group_update(GROUP, MEMBER, LIONS))  # said, not forwarded
    assert await count(group_bot, InboxMessage) == 0
    assert await count(group_bot, Request) == 0


async def test_forward_of_a_published_rumour_gets_one_short_reply_with_the_card(
    group_bot: Runtime, fake: FakeTelegram
) -> None:
    answer_id = await publish_lions(group_bot)
    forward = fake.group_update(GROUP, MEMBER, LIONS + "!! Share with everyone", forwarded=True)
    [reply] = await said(fake, forward)
    assert reply["photo"].endswith(f"/claims/{answer_id}/card.png?lang=en")
    assert reply["text"].startswith("❌ FALSE")  # the caption: verdict first
    assert "Park rangers counted every lion" in reply["text"]
    assert "t.me/rumourbot_test_bot" in reply["text"]
    assert len(reply["text"]) < 700 and not reply.get("reply_markup")  # short, no buttons
    assert reply["reply_parameters"]["message_id"] == forward["message"]["message_id"]
    # the same rumour again today, in other words: no second reply
    await silent(fake, fake.group_update(GROUP, OTHER, "FWD: " + LIONS, forwarded=True))
    assert len(fake.sent_to(GROUP)) == 1


async def test_unknown_forward_is_not_answered_nor_queued(
    group_bot: Runtime, fake: FakeTelegram
) -> None:
    await publish_lions(group_bot)
    await silent(fake, fake.group_update(
        GROUP, MEMBER, "The new bridge will be closed for a month from Friday", forwarded=True))
    assert await count(group_bot, Request) == 0
    async with group_bot.services.db.session() as session:
        assert (await session.scalars(select(Cluster))).one().representative_text == LIONS


async def test_check_as_a_reply_and_a_mention_ask(group_bot: Runtime, fake: FakeTelegram) -> None:
    answer_id = await publish_lions(group_bot)
    rumour = fake.group_update(GROUP, MEMBER, LIONS)  # chatter: nothing
    fake.push_update(rumour)
    check = fake.group_update(GROUP, OTHER, "/check", reply_to=rumour["message"])
    [reply] = await said(fake, check)
    assert reply["text"].startswith("❌ FALSE") and f"/claims/{answer_id}/" in reply["photo"]
    assert reply["reply_parameters"]["message_id"] == rumour["message"]["message_id"]
    # asked about something without an answer: passed to the team (only then queued)
    bridge = "The new bridge will be closed for a month from Friday"
    [queued] = await said(fake, fake.group_update(GROUP, OTHER, bridge, mention=True))
    assert "passed to the city's team" in queued["text"]
    async with group_bot.services.db.session() as session:
        request = (await session.scalars(select(Request).where(Request.outcome == "queue"))).one()
    assert request.text == bridge and request.cluster_id is not None
    [how] = await said(fake, fake.group_update(GROUP, OTHER, "/check"))
    assert "reply to it with /check" in how["text"]


async def test_quiet_from_an_admin_silences_it(group_bot: Runtime, fake: FakeTelegram) -> None:
    await publish_lions(group_bot)
    [refused] = await said(fake, fake.group_update(GROUP, MEMBER, "/quiet"))
    assert "Only the group's admins" in refused["text"]
    [quiet] = await said(fake, fake.group_update(GROUP, ADMIN, "/quiet@rumourbot_test_bot"))
    assert "stay quiet" in quiet["text"]
    assert [c["user_id"] for c in fake.calls_of("getChatMember")] == [MEMBER, ADMIN]
    await silent(fake, fake.group_update(GROUP, MEMBER, LIONS, forwarded=True))
    rumour = fake.group_update(GROUP, MEMBER, LIONS)
    await silent(fake, fake.group_update(GROUP, OTHER, "/check", reply_to=rumour["message"]))
    [back] = await said(fake, fake.group_update(GROUP, ADMIN, "/unquiet"))
    assert "back on" in back["text"]
    [answer] = await said(fake, fake.group_update(GROUP, MEMBER, LIONS, forwarded=True))
    assert answer["text"].startswith("❌ FALSE")


async def test_sends_to_a_group_keep_to_twenty_a_minute(
    group_bot: Runtime, fake: FakeTelegram
) -> None:
    async with group_bot.services.db.session() as session:
        group = await resident_for(session, "telegram", str(GROUP))
        for n in range(6):
            await enqueue(session, group, OutboundMessage(str(GROUP), f"message {n}"))
    group_bot.services.dispatcher.wake()
    await fake.wait_for_messages(GROUP, int(GROUP_BURST), timeout=WAIT)
    await asyncio.sleep(QUIET_SECONDS)
    assert len(fake.sent_to(GROUP)) == GROUP_BURST  # the rest waits for the group's bucket
    async with group_bot.services.db.session() as session:
        waiting = (await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()
    assert len(waiting) == 6 - GROUP_BURST
    assert all(row.next_attempt_at > utcnow() for row in waiting)
    async with group_bot.services.db.session() as session:  # not sent at shutdown either
        for row in waiting:
            await session.delete(row)
