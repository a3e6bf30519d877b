"""A spike alert in a real browser: the rising rumour's residents pass the threshold, the
staff chat (fake Bot API) and the duty inbox (fake SMTP server) get one alert each, and the
link in it opens the alerted cluster for a logged-in moderator in chromium."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.runtime.app import Runtime
from domain.db import Database
from domain.settings import Settings
from matching import Embedder
from tests.admin.alerting import PUBLIC, Inbox, alert_settings
from tests.admin.conftest import add_user, running_with, seed
from tests.admin.live import chromium, serve
from tests.admin.test_browser import log_in
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.browser
STAFF_CHAT = "-1009876"
DAM = "The dam will burst tonight, leave now"


@pytest.fixture
async def on_duty(
    settings: Settings,
    database: Database,
    embedder: Embedder,
    fake: FakeTelegram,
    smtp: tuple[Inbox, int],
) -> AsyncIterator[Runtime]:
    """A whole process whose staff are alerted in a Telegram group and by e-mail."""
    city = alert_settings(settings, fake, smtp[1], STAFF_CHAT, telegram_file_url=fake.file_url,
                          telegram_mode="polling")
    async with running_with(city, database, embedder) as rt:
        yield rt


async def test_staff_open_the_alerted_cluster_from_the_alert(
    on_duty: Runtime, fake: FakeTelegram, smtp: tuple[Inbox, int]
) -> None:
    await seed(on_duty, "A new bakery opens on Main street", ["q1", "q2"])
    rising = await seed(on_duty, DAM, [f"d{i}" for i in range(12)], language="sw")
    await on_duty.check_spikes()  # the scheduled job (it may already have run: once either way)
    [alert] = await fake.wait_for_messages(STAFF_CHAT, 1, timeout=10)
    link = alert["text"].rsplit("\n", 1)[-1]
    assert link == f"{PUBLIC}/admin/clusters/{rising}"
    for _ in range(100):
        if smtp[0].messages:
            break
        await asyncio.sleep(0.05)
    [mail] = smtp[0].messages
    assert link in mail.get_payload()
    await add_user(on_duty, "moderator", "moderator")
    async with serve(on_duty) as base, chromium() as browser:
        page = await browser.new_page()
        await log_in(page, base, "moderator")
        # the panel is behind the public address in production; here it is the test server
        await page.goto(base + urlsplit(link).path)
        assert await page.text_content(".claimtitle") == DAM
        facts = await page.text_content(".facts") or ""
        assert "12 residents" in facts
        await on_duty.check_spikes()
        assert len(fake.sent_to(STAFF_CHAT)) == 1 and len(smtp[0].messages) == 1
