"""The panel in a real browser: Debian's chromium through Playwright, against a uvicorn server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, Cluster
from tests.admin.conftest import PASSWORD, add_user, ask, undelivered
from tests.admin.live import chromium, serve
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.browser
RUMOUR = "Lions escaped from the national park and are walking in the market tonight"


async def telegram_ask(
    fake: FakeTelegram, chat: int, text: str, language: str = "en"
) -> dict[str, Any]:
    before = len(fake.sent_to(chat))
    fake.push_update(fake.message_update(chat, text, forwarded=True, language=language))
    sent = await fake.wait_for_messages(chat, before + 1, timeout=10)
    assert len(sent) > before, "the bot did not answer the forward"
    return sent[-1]


async def log_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/admin/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("h1:text('Queue')")


async def test_moderator_answers_the_top_cluster_and_the_resident_gets_it_on_telegram(
    telegram_runtime: Runtime, fake: FakeTelegram
) -> None:
    queued = await telegram_ask(fake, 7001, RUMOUR)
    assert "city's team" in queued["text"]
    # the reply can leave before the turn's cluster-index refresh finishes; wait for it, so the
    # second forward joins the first one's cluster (staff could merge them otherwise)
    await telegram_runtime.services.clusters.refresh()
    await telegram_ask(fake, 7002, RUMOUR)  # the same viral forward
    await add_user(telegram_runtime, "moderator", "moderator")
    async with serve(telegram_runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "moderator")
        await page.click("table.queue tbody tr:first-child td.claim a")
        await page.wait_for_selector("text=residents asked")
        await page.click("text=Write an answer")
        await page.select_option("select[name=verdict]", "false")
        # the claim starts empty (a hint, and the residents' messages beside it)
        assert await page.input_value("textarea[name=claim_en]") == ""
        assert RUMOUR in (await page.text_content("#lang-en .samples") or "")
        await page.fill("textarea[name=claim_en]", RUMOUR)
        await page.fill(
            "textarea[name=explanation_en]", "Park rangers confirm every lion is inside the park."
        )
        await page.fill("input[name=source_url]", "https://example.org/parks/lions")
        await page.click("button[value=preview]")
        preview = await page.text_content(".tg-bubble")
        assert preview is not None and "FALSE" in preview and "Park rangers" in preview
        await page.click("button[value=publish]")
        assert "Send this answer to 2 residents?" in (await page.text_content("#confirm") or "")
        await page.click("button[value=confirm]")
        await page.wait_for_selector(".flash")
        assert "2 residents will be notified" in (await page.text_content(".flash") or "")
        await browser.close()
    for chat in (7001, 7002):
        sent = await fake.wait_for_messages(chat, 2, timeout=10)
        assert "Park rangers confirm every lion" in sent[-1]["text"]
    assert (await telegram_ask(fake, 7003, RUMOUR))["text"].startswith(
        "❌ FALSE"
    )  # answered automatically, verdict first
    async with telegram_runtime.services.db.session() as session:
        names = set((await session.scalars(select(AuditEvent.name))).all())
    assert {"login", "publish"} <= names


async def test_viewer_cannot_publish(runtime: Runtime) -> None:
    await ask(runtime, "v1", RUMOUR)
    await add_user(runtime, "viewer", "viewer")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "viewer")
        await page.goto(f"{base}/admin/clusters/1/answer")
        assert await page.locator("button[value=publish]").count() == 0
        assert await page.locator("text=Write an answer").count() == 0
        # even a hand-made publish request is refused
        await page.evaluate("""() => { const f = document.getElementById('answer-form');
            const b = document.createElement('button'); b.name = 'action'; b.value = 'publish';
            f.appendChild(b); f.querySelector('select[name=verdict]').value = 'false';
            f.querySelector('textarea[name=explanation_en]').value = 'x';
            f.querySelector('textarea[name=claim_en]').value = 'x'; b.click(); }""")
        await page.wait_for_selector("text=Your role does not allow this action.")
    async with runtime.services.db.session() as session:
        assert (await session.scalars(select(Cluster))).one().answer_id is None


async def test_forged_csrf_token_is_refused(runtime: Runtime) -> None:
    await ask(runtime, "c1", RUMOUR)
    await add_user(runtime, "moderator", "moderator")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "moderator")
        await page.goto(f"{base}/admin/clusters/1")
        await page.fill("textarea[name=body]", "forged note")
        await page.eval_on_selector_all(
            "input[name=csrf_token]", "els => els.forEach(e => e.value = 'forged')"
        )
        await page.click("text=Add note")
        await page.wait_for_selector("text=This form has expired")
        await page.goto(f"{base}/admin/clusters/1")
        assert await page.locator("text=forged note").count() == 0


async def test_script_in_a_claim_is_shown_as_text(runtime: Runtime) -> None:
    claim = "<script>window.pwned = 1</script> Free money from the mayor <b>today</b>"
    await ask(runtime, "x1", claim)
    await add_user(runtime, "viewer", "viewer")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "viewer")
        assert "<script>window.pwned = 1</script>" in (await page.text_content("td.claim a") or "")
        await page.click("td.claim a")
        assert "<script>" in (await page.text_content("h1.claimtitle") or "")
        assert await page.evaluate("() => window.pwned === undefined")
        assert await page.locator("h1 b").count() == 0


async def test_moderator_sends_a_dead_message_again(runtime: Runtime) -> None:
    outbox_id = await undelivered(runtime, "resident-6012", "The clinic on Hill Road is open.")
    await add_user(runtime, "moderator", "moderator")
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "moderator")
        await page.click("nav >> text=Delivery")
        row = page.locator(f"tr#outbox-{outbox_id}")
        assert "Could not be delivered" in (await row.text_content() or "")
        assert "•••6012" in (await row.text_content() or "")
        await row.locator("button", has_text="Send again").click()
        await page.wait_for_selector(".flash")
        assert f"Message #{outbox_id} will be sent again." in (
            await page.text_content(".flash") or ""
        )
        assert await page.locator(f"tr#outbox-{outbox_id}").count() == 0
        assert await page.locator("text=Nothing needs a decision").count() == 1
    delivered = await runtime.webchat_outbox.wait_for("resident-6012", 1)
    assert [m.text for m in delivered] == ["The clinic on Hill Road is open."]
