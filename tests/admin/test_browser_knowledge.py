"""The knowledge base and its sources in a real browser (one server, one chromium): an item's
translations added and searched in Arabic, a variant added (a forward is answered) and removed
(it is not), and a source added from a fake fact-check site, paused, and a failing try shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import Request
from tests.admin.conftest import add_user, ask
from tests.admin.live import chromium, serve
from tests.admin.test_browser import log_in
from tests.admin.test_knowledge_texts import AR, CHAIN, SW, add_measles
from tests.fakes.factcheck_site import factcheck_site

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/rumourbot-screens")


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def outcome(runtime: Runtime, chat: str, text: str) -> str:
    await ask(runtime, chat, text)
    async with runtime.services.db.session() as session:
        query = select(Request.outcome).where(Request.text == text).order_by(Request.id.desc())
        return str((await session.scalars(query)).first())


@pytest.fixture(autouse=True)
def _shots_folder() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


async def test_knowledge_item_texts_and_sources_in_the_browser(runtime: Runtime) -> None:
    item_id = await add_measles(runtime)
    await add_user(runtime, "admin", "admin")
    with factcheck_site() as (site, site_url):
        runtime.services.settings.connector_private_hosts = site_url.removeprefix("http://")
        async with serve(runtime) as base, chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda dialog: dialog.accept())
            await log_in(page, base, "admin")

            # translations: add Swahili and Arabic from the item's page
            await page.goto(f"{base}/admin/knowledge/{item_id}")
            for code, claim in (("sw", SW), ("ar", AR)):
                form = page.locator("form.add-translation")
                await form.locator("select[name=language]").select_option(code)
                await form.locator("textarea[name=claim]").fill(claim)
                await form.locator("button[type=submit]").click()
                assert "Translation saved." in (await page.text_content(".flash") or "")
            arabic = page.locator("form.translation[data-language=ar] textarea[name=claim]")
            assert await arabic.input_value() == AR

            # a variant: added, shown with its origin, and a forward of it is answered
            await page.fill("form.add-variant textarea[name=text]", CHAIN)
            await page.click("form.add-variant button[type=submit]")
            assert "Variant added" in (await page.text_content(".flash") or "")
            row = page.locator("section.variants tr.variant-confirmed")
            assert "added or confirmed by staff" in (await row.text_content() or "")
            await shot(page, "knowledge-item")
            assert await outcome(runtime, "b1", f"Forwarded as received: {CHAIN}") == "answer"
            await page.click("section.variants tr.variant-confirmed button:text('Remove')")
            assert "Variant removed" in (await page.text_content(".flash") or "")
            assert await page.locator("section.variants tr.variant-confirmed").count() == 0
            assert await outcome(runtime, "b2", f"{CHAIN.upper()}!!") != "answer"

            # search in Arabic finds the item by its translation
            await page.goto(f"{base}/admin/knowledge")
            await page.fill("input[name=q]", "يسبب العقم")
            await page.click("button:text('Search')")
            assert AR in (await page.text_content("table") or "")
            await shot(page, "knowledge-search-ar")

            # sources: a failing try shows why and saves nothing; a working one is added
            await page.click("nav >> text=Sources")
            feed = page.locator("details[data-kind=claimreview_feed]")
            await feed.locator("summary").click()
            await feed.locator("input[name=name]").fill("fact-desk")
            await feed.locator("input[name=cfg_url]").fill(f"{site_url}/checks/missing.json")
            await feed.locator("button[type=submit]").click()
            error = await page.text_content(".add-source .errors") or ""
            assert "Not added:" in error and "does not exist (404)" in error
            assert await page.locator("table.sources tr.source").count() == 0
            await shot(page, "sources-refused")
            feed = page.locator("details[data-kind=claimreview_feed]")
            await feed.locator("input[name=cfg_url]").fill(f"{site_url}/checks/feed.json")
            await feed.locator("button[type=submit]").click()
            assert "Added fact-desk: 2 items fetched." in (await page.text_content(".flash") or "")
            row_text = await page.text_content("table.sources tr[data-name=fact-desk]") or ""
            assert "Working" in row_text and "ClaimReview feed" in row_text
            await page.click("tr[data-name=fact-desk] button:text('Pause')")
            assert "Paused fact-desk." in (await page.text_content(".flash") or "")
            await shot(page, "sources")
            assert site.hits == ["/checks/missing.json", "/checks/feed.json"]

            # the nav, with Sources in it, still fits a phone
            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await log_in(phone, base, "admin")
            await phone.goto(f"{base}/admin/sources")
            overflow = await phone.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            await shot(phone, "sources-phone")
