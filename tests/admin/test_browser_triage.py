"""A crisis morning in a real browser (one server, one chromium for the whole story): similar
clusters merged with a confirmation and undone, a merge into an answered cluster reaching the
merged askers, split on an answered cluster, spam closed with the residents' reply, priority by
people, search in Swahili and Arabic, live refresh, and the nav on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from bot.runtime.app import Runtime
from domain.knowledge import ItemData, upsert_item
from tests.admin.conftest import add_user, ask, seed
from tests.admin.live import chromium, serve
from tests.admin.test_browser import log_in

pytestmark = pytest.mark.browser
LIONS = "Lions escaped from the national park and are walking in the market tonight"
LIONS_AGAIN = "Lions escaped from the national park, they are walking in the market tonight!!"
SIMBA = "Simba wametoroka kutoka hifadhi ya taifa na wanatembea sokoni usiku huu"
SHOTS = Path("/tmp/rumourbot-screens")


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_a_crisis_morning_in_the_panel(runtime: Runtime) -> None:
    lions = await seed(runtime, LIONS, ["l1", "l2", "l3"])
    again = await seed(runtime, LIONS_AGAIN, ["l1"], minutes_ago=5)  # same resident, new cluster
    flood = await seed(runtime, "The dam will burst tonight, leave now", ["flooder"] * 24)
    spam = await seed(runtime, "WIN A PHONE today, click the link", ["s1"], language="sw")
    simba = await seed(runtime, SIMBA, ["k1", "k2"], language="sw", minutes_ago=10)
    await seed(runtime, "الجيش سيغلق الطريق السريع الليلة", ["a1"], language="ar")
    async with runtime.services.db.session() as session:
        item, _ = await upsert_item(
            session,
            ItemData(
                claim="Lions escaped from the national park",
                verdict="false",
                explanation="Rangers counted every lion this morning.",
            ),
        )
    await runtime.services.knowledge.refresh()
    await add_user(runtime, "moderator", "moderator")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        await log_in(page, base, "moderator")

        # priority by people: 3 residents outrank one resident's 24 messages
        claims = await page.locator("table.queue td.claim a").all_text_contents()
        assert claims.index(LIONS) < claims.index("The dam will burst tonight, leave now")
        await shot(page, "queue")

        # the near-identical message is offered as a similar cluster; merge with confirmation
        await page.goto(f"{base}/admin/clusters/{lions}")
        similar = page.locator("section.similar")
        assert LIONS_AGAIN[:40] in (await similar.text_content() or "")
        assert SIMBA[:30] in (await similar.text_content() or "")  # the Swahili version too
        await similar.locator(f"a[href$='source={again}']").click()
        confirm = await page.text_content("section.confirm") or ""
        assert "1 message from 1 resident moves into" in confirm
        assert "Nobody is messaged now" in confirm
        await shot(page, "merge-confirm")
        await page.click("button:text('Merge 1 message')")
        assert "You can undo it under History" in (await page.text_content(".flash") or "")
        # ... and undo it from the history
        await page.click("section.history button:text('Undo')")
        assert "1 message is back in" in (await page.text_content(".flash") or "")
        await page.goto(f"{base}/admin/")
        assert LIONS_AGAIN in " ".join(await page.locator("td.claim a").all_text_contents())

        # answer with the fact-check, then merge the Swahili cluster in: its askers are told
        await page.goto(f"{base}/admin/clusters/{lions}")
        await page.click(f"form[action$='/use']:has(input[value='{item.id}']) button")
        assert "3 residents will be notified" in (await page.text_content(".flash") or "")
        await page.goto(f"{base}/admin/clusters/{lions}/merge?source={simba}")
        assert "2 residents are sent that answer now" in (
            await page.text_content("section.confirm") or ""
        )
        await page.click("button:text('Merge 2 messages')")
        assert "2 residents were sent the answer" in (await page.text_content(".flash") or "")
        for chat in ("k1", "k2"):
            sent = await runtime.webchat_outbox.wait_for(chat, 1)
            assert "Rangers counted every lion" in sent[-1].text

        # split works on the answered cluster
        split_buttons = page.locator("button:text('Split out')")
        assert await split_buttons.count() == 5
        await split_buttons.first.click()  # the oldest: a Swahili message
        assert "Split out of" in (await page.text_content(".flash") or "")

        # close the spam: the Swahili resident gets a polite reply in Swahili
        await page.goto(f"{base}/admin/clusters/{spam}")
        await page.click("button[value=spam]")
        assert "1 resident gets a polite closing reply" in (await page.text_content(".flash") or "")
        reply = await runtime.webchat_outbox.wait_for("s1", 1)
        assert reply[-1].text.startswith("Asante kwa kutuandikia.")

        # search in Swahili and in Arabic
        await page.goto(f"{base}/admin/")
        await page.fill("input[name=q]", "wametoroka")
        await page.click("button:text('Filter')")
        found = await page.locator("td.claim a").all_text_contents()
        assert found == [SIMBA]  # the message split out of the answered cluster
        await page.fill("input[name=q]", "الطريق")
        await page.click("button:text('Filter')")
        assert await page.locator("td.claim a").all_text_contents() == [
            "الجيش سيغلق الطريق السريع الليلة"
        ]

        # live refresh: a new question appears without a reload
        await page.goto(f"{base}/admin/?live_ms=1000")
        await page.evaluate("() => { window.notReloaded = true; }")
        await ask(runtime, "new1", "Petrol stations will run dry by Friday, buy now")
        await page.wait_for_selector("td.claim a:text('Petrol stations')", timeout=30000)
        assert await page.evaluate("() => window.notReloaded === true")
        assert "1 new question arrived" in (await page.text_content("[data-live]") or "")
        assert flood  # still listed, below the real rumours

        # the nav on a phone: nothing overflows, every link is reachable
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await log_in(phone, base, "moderator")
        await phone.wait_for_load_state()  # the stylesheet applied, not only the heading there
        overflow = await phone.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        for link in await phone.locator("nav a").all():
            box = await link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        await shot(phone, "queue-phone")
        await phone.click("nav >> text=Dashboard")
        await phone.wait_for_selector("h1:text('Dashboard')")
