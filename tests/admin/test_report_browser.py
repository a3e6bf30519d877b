"""The council report in a real browser: the nav leads to it, the figures are on the page, and
its PDF downloads and opens with the title and a figure."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.runtime.app import Runtime
from tests.admin.conftest import add_user, seed
from tests.admin.live import chromium, serve
from tests.admin.test_browser import log_in
from tests.admin.test_report import pdf_text

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/rumourbot-screens")
ROAD = "الجيش سيغلق الطريق السريع الليلة"
LIONS = "Lions are walking in the market tonight"
MARKET = "बाज़ार में शेर घूम रहे हैं, आज रात बाहर न निकलें"


async def test_the_monthly_report_and_its_pdf(runtime: Runtime, tmp_path: Path) -> None:
    await seed(runtime, LIONS, ["l1", "l2", "l3"], topic="security")
    await seed(runtime, ROAD, ["a1", "a2"], language="ar", channel="telegram")
    await seed(runtime, MARKET, ["h1"], language="hi", topic="security")
    await add_user(runtime, "viewer", "viewer")
    await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await log_in(page, base, "viewer")
        await page.click("nav >> text=Report")
        await page.wait_for_selector("h1:text('Report for the council')")
        assert await page.text_content("[data-figure=requests]") == "6"
        assert await page.locator("svg.chart").count() == 5
        rows = await page.locator(".top-rumours tbody tr").all_text_contents()
        assert LIONS in rows[0] and ROAD in rows[1]
        await page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
        async with page.expect_download() as waiting:
            await page.click("text=Download PDF")
        download = await waiting.value
        assert download.suggested_filename.startswith("report-")
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        pdf = await asyncio.to_thread(saved.read_bytes)
        assert pdf.startswith(b"%PDF-")
        text = await asyncio.to_thread(pdf_text, pdf)
        assert "Report for the council" in text
        assert "requests from 6 residents" in text  # a figure of the report
        shutil.copy(saved, SHOTS / "report.pdf")
