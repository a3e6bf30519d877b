"""Invitations and an answer's targeted broadcast in a real browser (Debian's chromium)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.models import Invitation, Resident, SubscriberProfile
from tests.admin.conftest import PASSWORD, add_user, seed
from tests.admin.live import chromium, serve
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("RUMOURBOT_SCREENSHOTS")  # a folder: keep the pages' screenshots there


async def test_staff_invite_an_influencer_who_joins_then_send_them_the_cards(
    telegram_runtime: Runtime, fake: FakeTelegram
) -> None:
    services = telegram_runtime.services
    services.settings = services.settings.model_copy(
        update={"telegram_bot_username": "CityFactsBot", "areas": "Kibera,Eastlands"}
    )
    await add_user(telegram_runtime, "moderator", "moderator")
    cluster_id = await seed(telegram_runtime, "Lions escaped from the park tonight", ["asker"])
    draft = AnswerDraft(verdict="false", explanation="Every lion is inside the park.")
    answer_id = (await publish_answer(services, cluster_id, draft)).answer_id
    async with serve(telegram_runtime) as base, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{base}/admin/")
        await page.fill("input[name=username]", "moderator")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("h1:text('Queue')")
        await page.click("nav >> text=Invitations")
        await page.fill("input[name=label]", "Amina, Kibera youth group")
        await page.select_option("select[name=role]", "influencer")
        await page.check("input[name=areas][value=Kibera]")
        await page.click("button:text('Create invitation')")
        await page.wait_for_selector(".flash")
        link = await page.input_value("input[aria-label='Telegram link']")
        assert link.startswith("https://t.me/CityFactsBot?start=")
        assert await page.is_visible("img[alt='QR code for the Telegram link']")
        if SHOTS:
            await page.screenshot(path=f"{SHOTS}/invitations.png", full_page=True)

        fake.push_update(fake.message_update(9301, "/start " + link.rsplit("=", 1)[1]))
        joined = await fake.wait_for_messages(9301, 1, timeout=10)
        assert "You joined as influencer for Kibera" in joined[0]["text"]

        await page.goto(f"{base}/admin/answers/{answer_id}/cards")
        await page.check("input[name=roles][value=influencer]")
        await page.check("input[name=areas][value=Kibera]")
        await page.click("button:text('Preview who gets it')")
        await page.wait_for_selector(".preview")
        assert "1 person (1 of them influencers" in (await page.text_content(".preview") or "")
        if SHOTS:
            await page.screenshot(path=f"{SHOTS}/broadcast.png", full_page=True)
        page.on("dialog", lambda dialog: dialog.accept())
        await page.click("button:text('Send to 1 person')")
        await page.wait_for_selector(".flash")
        await browser.close()
    sent = await fake.wait_for_messages(9301, 2, timeout=10)
    assert "Share this with your groups" in sent[1]["text"]
    async with services.db.session() as session:
        resident = (await session.scalars(select(Resident).where(Resident.chat_id == "9301"))).one()
        profile = await session.get(SubscriberProfile, resident.id)
        assert profile is not None and profile.role == "influencer"
        assert (await session.scalars(select(Invitation))).one().joined == 1
