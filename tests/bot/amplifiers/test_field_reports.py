"""Trusted reporters through the fake Bot API: an influencer's forward is a field report from
their area, ranked above anonymous requests and flagged in the queue and on the cluster page;
when it is answered they get the answer, then the card to pass on."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.models import Cluster, Resident, SubscriberProfile
from tests.bot.channels.test_telegram_e2e import say
from tests.bot.telegram_support import LIONS, panel_as
from tests.fakes.telegram_api import FakeTelegram

BRIDGE = "The new bridge over the river will be closed for a whole month from Friday"
LEADER, RESIDENT = 8101, 8102


async def test_a_leaders_forward_is_a_field_report_ranked_first_and_answered_with_the_card(
    bot: Runtime, fake: FakeTelegram
) -> None:
    async with bot.services.db.session() as session:
        leader = Resident(channel="telegram", chat_id=str(LEADER), language="en")
        session.add(leader)
        await session.flush()
        session.add(SubscriberProfile(resident_id=leader.id, role="community_leader",
                                      areas=["Kibera"], languages=["en"]))
    # an anonymous resident asks first, and about something else
    [queued] = await say(fake, fake.message_update(RESIDENT, BRIDGE, forwarded=True), RESIDENT)
    assert "city's team" in queued["text"] and "field report" not in queued["text"]
    [report] = await say(fake, fake.message_update(LEADER, LIONS, forwarded=True), LEADER, n=1)
    assert "field report from Kibera" in report["text"]

    async with panel_as(bot, "viewer") as panel:
        queue = (await panel.get("/admin/")).text
        claims = re.findall(r'href="/admin/clusters/(\d+)">([^<]+)</a>', queue)
        assert [text for _, text in claims][:2] == [LIONS, BRIDGE]  # the report first
        assert queue.count("Field report · Kibera") == 1
        cluster_page = (await panel.get(f"/admin/clusters/{claims[0][0]}")).text
        assert "Field report · Kibera" in cluster_page

    async with bot.services.db.session() as session:
        cluster = (await session.scalars(
            select(Cluster).where(Cluster.representative_text == LIONS))).one()
    draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.")
    answer_id = (await publish_answer(bot.services, cluster.id, draft)).answer_id
    told = await fake.wait_for_messages(LEADER, 3, timeout=20)
    assert "every lion is inside" in told[1]["text"] and "photo" not in told[1]
    assert told[2]["photo"].endswith(f"/claims/{answer_id}/card.png?lang=en")
    assert told[2]["text"].startswith("Share this with your groups")
