"""Answering in a real browser (one server, one chromium): publish with a language missing,
then add it; a correction reaching the subscribers who got the answer as a broadcast, once;
a broadcast form sent twice sends once."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime.app import Runtime
from domain.residents import resident_for
from tests.admin.conftest import add_user, seed
from tests.admin.live import chromium, serve
from tests.admin.test_browser import log_in
from tests.admin.test_browser_triage import shot

pytestmark = pytest.mark.browser
LIONS = "Lions escaped from the national park and are walking in the market tonight"


async def test_answer_in_the_languages_you_have_and_reach_everyone_once(runtime: Runtime) -> None:
    cluster = await seed(runtime, LIONS, ["en1", "en2"])
    swahili = await seed(runtime, "Simba wametoroka kutoka hifadhi ya taifa", ["sw1"], "sw")
    async with runtime.services.db.session() as session:
        for chat, language in (("sub-en", "en"), ("sub-sw", "sw")):
            resident = await resident_for(session, "webchat", chat)
            resident.topics, resident.language = ["security"], language
    await add_user(runtime, "moderator", "moderator")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "moderator")
        await page.goto(f"{base}/admin/clusters/{cluster}/merge?source={swahili}")
        await page.click("button:text('Merge 1 message')")

        # English only, also broadcast to the topic
        await page.goto(f"{base}/admin/clusters/{cluster}/answer")
        assert "Simba wametoroka" in (await page.text_content("#lang-sw .samples") or "")
        await page.select_option("select[name=verdict]", "false")
        await page.fill("textarea[name=claim_en]", "Lions escaped from the national park")
        await page.fill("textarea[name=explanation_en]", "Rangers counted every lion.")
        await page.select_option("select[name=topic]", "security")
        await page.check("input[name=broadcast]")
        await page.click("button[value=publish]")
        confirm = await page.text_content("#confirm") or ""
        assert "Send this answer to 5 residents?" in confirm  # 3 askers + 2 subscribers
        assert "with a note; sent again when sw is added" in confirm
        await shot(page, "publish-confirm")
        await page.click("button[value=confirm]")
        assert "3 residents will be notified, and the update goes to 2 subscribers" in (
            await page.text_content(".flash") or ""
        )
        note = (await runtime.webchat_outbox.wait_for("sw1", 1))[-1].text
        assert "Bado hatuna jibu hili kwa Kiswahili" in note and "Rangers counted" in note

        # "needs a translation into sw", then add it: only the Swahili readers are sent it
        await page.goto(f"{base}/admin/?status=answered&needs=sw")
        await page.click("td.claim a")
        await page.click("text=Correct this answer")
        await page.fill("textarea[name=claim_sw]", "Simba wametoroka kutoka hifadhi ya taifa")
        await page.fill("textarea[name=explanation_sw]", "Walinzi wamehesabu simba wote.")
        await page.click("button[value=publish]")
        assert "Send this answer to 2 residents?" in (await page.text_content("#confirm") or "")
        await page.click("button[value=confirm]")
        for chat, count in (("sw1", 2), ("sub-sw", 2)):
            own = (await runtime.webchat_outbox.wait_for(chat, count))[-1].text
            assert "Walinzi wamehesabu simba wote." in own

        # a correction reaches the askers and the broadcast's subscribers, once each
        await page.click("text=Correct this answer")
        await page.select_option("select[name=verdict]", "misleading")
        await page.fill("textarea[name=explanation_en]", "Two lions left the park; both are back.")
        await page.fill("textarea[name=explanation_sw]", "Simba wawili walitoka; wamerudi.")
        await page.click("button[value=publish]")
        assert "Send this answer to 5 residents?" in (await page.text_content("#confirm") or "")
        await page.click("button[value=confirm]")
        for chat, count, words in (
            ("en1", 2, "both are back"),
            ("sub-en", 2, "both are back"),
            ("sub-sw", 3, "wamerudi"),
        ):
            assert words in (await runtime.webchat_outbox.wait_for(chat, count))[-1].text

        # a broadcast: preview, then send; the same form sent again sends nothing
        await page.goto(f"{base}/admin/subscribers")
        await page.select_option("select[name=topic]", "security")
        await page.fill("textarea[name=body_en]", "The park is closed today; stay away.")
        await page.fill("input[name=source_url]", "https://parks.example.org/notice")
        await page.click("button[value=preview]")
        assert "Send to 2 subscribers?" in (await page.text_content("#confirm") or "")
        assert "Chanzo: https://parks.example.org/notice" in (
            await page.text_content("#confirm") or ""
        )
        await shot(page, "broadcast-confirm")
        fields = await page.evaluate(
            "() => Array.from(new FormData(document.getElementById('composer')).entries())"
        )
        await page.click("button[value=send]")
        assert "Update queued for 2 subscribers." in (await page.text_content(".flash") or "")
        # the browser sends the same form again (a retry, a double click on a slow line)
        # the page is already on /broadcasts?..., so wait for this submission's own load
        async with page.expect_navigation(wait_until="load"):
            await page.evaluate(
                """([action, fields]) => { const f = document.createElement('form');
                f.method = 'post'; f.action = action;
                for (const [k, v] of [...fields, ['action', 'send']]) {
                  const i = document.createElement('input'); i.type = 'hidden'; i.name = k;
                  i.value = v; f.appendChild(i); }
                document.body.appendChild(f); f.submit(); }""",
                [f"{base}/admin/subscribers/broadcast", fields],
            )
        assert "/broadcasts?" in page.url
        assert "nothing was sent again" in (await page.text_content(".flash") or "")
        assert "The park is closed today" in (await page.text_content("main") or "")
        await shot(page, "broadcasts")
    await asyncio.sleep(0.5)
    counts = {chat: len(runtime.webchat_outbox.sent[chat]) for chat in ("en1", "sub-en", "sw1")}
    assert counts == {"en1": 2, "sub-en": 3, "sw1": 3}
