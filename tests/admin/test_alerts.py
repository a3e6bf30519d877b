"""Spike alerts reach the staff Telegram chat (the fake Bot API) and e-mail (a fake SMTP
server on loopback, aiosmtpd) once per cluster and level."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from admin.alerts import check_spikes
from bot.conversation.services import Services
from bot.runtime.wiring import build_services, prepare
from domain.db import Database
from domain.models import Request
from domain.settings import Settings
from matching import Embedder
from tests.admin.alerting import Inbox, alert_settings
from tests.admin.conftest import seed
from tests.fakes.telegram_api import FakeTelegram

STAFF_CHAT = "-1001234"


@pytest.fixture
async def alerting(
    settings: Settings,
    database: Database,
    embedder: Embedder,
    fake: FakeTelegram,
    smtp: tuple[Inbox, int],
) -> Services:
    city = alert_settings(settings, fake, smtp[1], STAFF_CHAT)
    services = build_services(city, db=database, embedder=embedder)
    await prepare(services)
    return services


async def test_a_spike_alerts_the_staff_chat_and_email_once_per_level(
    alerting: Services, fake: FakeTelegram, smtp: tuple[Inbox, int]
) -> None:
    holder: Any = SimpleNamespace(services=alerting)  # seed() needs only the services
    quiet = await seed(holder, "A new bakery opens on Main street", ["q1", "q2"])
    rising = await seed(
        holder, "The dam will burst tonight, leave now", [f"d{i}" for i in range(12)]
    )
    alerts = await check_spikes(alerting)
    assert [(a.cluster_id, a.level) for a in alerts] == [(rising, 1)]
    assert quiet not in [a.cluster_id for a in alerts]
    assert await check_spikes(alerting) == []  # once per level
    sent = await fake.wait_for_messages(STAFF_CHAT, 1, timeout=5)
    assert "12 residents asked in the last hour" in sent[0]["text"]
    assert f"https://panel.city.example.org/admin/clusters/{rising}" in sent[0]["text"]
    for _ in range(50):
        if smtp[0].messages:
            break
        await asyncio.sleep(0.05)
    [mail] = smtp[0].messages
    assert mail["To"] == "duty@city.example.org" and "level 1" in mail["Subject"]
    assert "The dam will burst tonight" in mail.get_payload()
    # twice the threshold: level 2, one more alert
    await seed(holder, "The dam will burst tonight, leave now!", [f"e{i}" for i in range(10)])
    async with alerting.db.session() as session:
        await session.execute(
            update(Request).where(Request.text.like("%now!")).values(cluster_id=rising)
        )
    assert [(a.cluster_id, a.level) for a in await check_spikes(alerting)] == [(rising, 2)]
    assert len(fake.sent_to(STAFF_CHAT)) == 2 and len(smtp[0].messages) == 2
