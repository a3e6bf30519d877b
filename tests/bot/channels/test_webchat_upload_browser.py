"""The web chat's upload field in a real browser: a screenshot of a known demo claim is read
(OCR) and answered; a file that lies about what it is gets the polite refusal, in Swahili for a
Swahili browser."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from bot.runtime.app import Runtime
from bot.runtime.demo import DEMO_FILE, load_demo
from bot.runtime.wiring import build_services
from bot.texts.catalogue import text
from domain.db import Database
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.admin.live import chromium, serve
from tests.media import samples

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("RUMOURBOT_SCREENSHOTS")  # a folder: keep the page's screenshot there


def demo_item(item_id: str) -> dict[str, str]:
    for line in DEMO_FILE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == item_id:
            return dict(row)
    raise KeyError(item_id)


@pytest.fixture
async def demo(settings: Settings, database: Database, embedder: Embedder,
               intent_parser: IntentParser) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, services=build_services(settings, database, embedder, intent_parser))
    async with rt.running():
        await load_demo(rt.services)
        yield rt


async def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    await page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
    await page.click("#form button[type=submit]")


async def last_bot_message(page: Page, count: int) -> str:
    await page.locator(".msg.bot").nth(count - 1).wait_for(timeout=60_000)
    return (await page.locator(".msg.bot").nth(count - 1).inner_text()).strip()


async def test_a_screenshot_is_answered_and_a_lying_file_refused(demo: Runtime) -> None:
    water = demo_item("demo-001")
    shot = samples.degraded(samples.notice("en", water["claim"], title="URGENT"),
                            screenshot=True)
    async with serve(demo) as base, chromium() as browser:
        context = await browser.new_context(extra_http_headers={"Accept-Language": "en"},
                                            viewport={"width": 420, "height": 820})
        page = await context.new_page()
        await page.goto(f"{base}/chat")
        await attach(page, "IMG-20261201-WA0004.jpg", "image/jpeg", shot)
        answer = await last_bot_message(page, 1)
        assert answer.startswith(f"❌ {text('verdict.false', 'en')}: "), answer
        assert "12-hour maintenance cut" in answer and "Demo City Fact Desk" in answer, answer
        assert (await page.locator(".msg.me").first.inner_text()).startswith("Attached: IMG-")
        if SHOTS:
            await page.screenshot(path=str(Path(SHOTS) / "webchat-upload.png"), full_page=True)
        await context.close()

        swahili = await browser.new_context(extra_http_headers={"Accept-Language": "sw"})
        page = await swahili.new_page()
        await page.goto(f"{base}/chat")
        await attach(page, "tangazo.jpg", "image/jpeg", b"<html><script>alert(1)</script>")
        refusal = await last_bot_message(page, 1)
        assert refusal == text("unsupported_media", "sw"), refusal
        await swahili.close()
