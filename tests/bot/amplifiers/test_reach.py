"""Reach, through the fake Bot API and the panel: per invitation, who joined, what they sent
and what was answered; per card broadcast, recipients by role and area, delivered and failed."""

from __future__ import annotations

import asyncio
import re

from bot.amplifiers import invitations
from bot.conversation.publishing import AnswerDraft
from bot.runtime.app import Runtime
from tests.admin.conftest import csrf_of
from tests.bot.channels.test_telegram_e2e import say
from tests.bot.telegram_support import LIONS, panel_as, publish_claim
from tests.fakes.telegram_api import FakeTelegram

FIRST, SECOND = 9201, 9202
TELEGRAM = {"telegram_bot_username": "CityFactsBot"}  # settings of the `bot` fixture


def cells(html: str, marker: str) -> list[str]:
    """The cells of the table row containing `marker`, as text."""
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S) if marker in r)
    found = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in found]


async def test_reach_per_invitation_and_per_broadcast(bot: Runtime, fake: FakeTelegram) -> None:
    async with bot.services.db.session() as session:
        invitation = await invitations.create(session, bot.services.settings, "moderator",
                                              "Kibera youth group", "influencer", ["Kibera"], [])
        code = invitation.code
    draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.")
    answer_id = await publish_claim(bot, draft)
    for chat in (FIRST, SECOND):
        await say(fake, fake.message_update(chat, f"/start {code}"), chat)
    await say(fake, fake.message_update(FIRST, LIONS, forwarded=True), FIRST, n=2)

    async with panel_as(bot, "moderator") as panel:
        page = (await panel.get("/admin/invitations")).text
        # joined, messages, answers
        assert cells(page, "Kibera youth group")[3:6] == ["2", "1", "1"]

        cards = await panel.get(f"/admin/answers/{answer_id}/cards")
        nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', cards.text)
        assert nonce
        fake.fail_next("sendPhoto", 403, "Forbidden: bot was blocked by the user")
        sent = await panel.post(f"/admin/answers/{answer_id}/broadcast", data={
            "csrf_token": csrf_of(cards.text), "nonce": nonce.group(1), "roles": ["influencer"],
            "areas_text": "Kibera", "action": "send"})
        assert sent.status_code == 303
        for _ in range(200):  # the dispatcher records results a moment after sending
            section = (await panel.get("/admin/broadcasts")).text.partition("Cards sent to")[2]
            if "<td>Kibera</td>" in section:
                row = cells(section, "<td>Kibera</td>")
                if int(row[3]) + int(row[4]) == 2:
                    break
            await asyncio.sleep(0.05)
        # role, area, recipients, delivered, failed, waiting, opted out
        assert row == ["Influencer", "Kibera", "2", "1", "1", "0", "0"]
        assert f"answer #{answer_id}" in section
