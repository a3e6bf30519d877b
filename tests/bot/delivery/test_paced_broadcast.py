"""Paced broadcasts through the fake Graph API: WhatsApp's tier of 250 a day, with a clock.

1,000 people outside the 24-hour window and a tier of 250 take four days: 250 at once (every
influencer and community leader among them), 250 more each following day, each as the approved
template; the ten people whose window is open get plain text at once. A worker restart in the
middle, and planning the same broadcast again, send nobody anything twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from bot.conversation.services import Services
from bot.delivery.audience import Audience
from bot.delivery.broadcasts import targeted_broadcast
from domain.db import Database
from domain.models import Resident, SubscriberProfile, utcnow
from domain.settings import Settings
from matching import Embedder
from tests.bot.channels.test_whatsapp import open_whatsapp, whatsapp_settings
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.filterwarnings("ignore:PluginImportFixer.find_spec:ImportWarning")
PEOPLE = 1000
IN_WINDOW = 10
UPDATE = {"en": "Cholera vaccination is free at every health centre this week."}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def role_of(index: int) -> str | None:
    if index % 10 == 9:
        return "influencer"  # 100 of them, spread through the list
    if index % 20 == 4:
        return "community_leader"  # 50
    return None


async def seed(services: Services, now: datetime) -> set[str]:
    """1,000 subscribers outside the window (150 of them amplifiers) and 10 inside it."""
    chats = [f"2547{index:08d}" for index in range(PEOPLE + IN_WINDOW)]
    async with services.db.session() as session:
        await session.execute(
            insert(Resident),
            [
                {
                    "channel": "whatsapp",
                    "chat_id": chat,
                    "language": "en",
                    "topics": ["health"],
                    "opted_out": False,
                    "blocked": False,
                    "created_at": now,
                    "last_inbound_at": now - timedelta(hours=1) if index >= PEOPLE else None,
                }
                for index, chat in enumerate(chats)
            ],
        )
        ids = {
            chat: id_
            for chat, id_ in (await session.execute(select(Resident.chat_id, Resident.id))).all()
        }
        profiles = [
            {
                "resident_id": ids[chats[i]],
                "role": role,
                "areas": [],
                "languages": [],
                "updated_at": now,
            }
            for i in range(PEOPLE)
            if (role := role_of(i))
        ]
        await session.execute(insert(SubscriberProfile), profiles)
    return {chats[i] for i in range(PEOPLE) if role_of(i)}


async def wait_for_total(graph: FakeGraphAPI, count: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while len(graph.sent) < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and nothing more than that arrives
    assert len(graph.sent) == count


async def test_tier_250_spreads_1000_over_four_days_amplifiers_first_nothing_twice(
    settings: Settings, database: Database, embedder: Embedder
) -> None:
    start = utcnow()
    clock = Clock(start)
    with FakeGraphAPI() as graph:
        wa_settings = whatsapp_settings(settings, graph, whatsapp_messaging_tier="250")
        async with open_whatsapp(wa_settings, database, embedder, graph) as wa:
            services = wa.runtime.services
            services.dispatcher.clock = clock
            amplifiers = await seed(services, start)
            preview = await targeted_broadcast(
                services, "vaccines", Audience(topic="health"), UPDATE, clock=clock, preview=True
            )
            assert (preview.recipients, preview.at_once, preview.paced) == (1010, 260, 750)
            assert preview.days == pytest.approx(3.0) and preview.amplifiers == 150
            assert preview.by_channel_language == Counter({("whatsapp", "en"): 1010})
            plan = await targeted_broadcast(
                services, "vaccines", Audience(topic="health"), UPDATE, clock=clock
            )
            assert (plan.queued, plan.at_once, plan.paced) == (1010, 260, 750)
            await wait_for_total(graph, 260)
            first_day = list(graph.sent)
            templates = {s.to for s in first_day if s.type == "template"}
            assert len(templates) == 250 and amplifiers <= templates
            texts = [s for s in first_day if s.type == "text"]
            assert len(texts) == IN_WINDOW and "Cholera vaccination" in texts[0].text
            template = next(s for s in first_day if s.type == "template").body["template"]
            assert template["name"] == "verified_update"

        # a worker restart: a new process, the same database, the plan where it was
        async with open_whatsapp(wa_settings, database, embedder, graph) as wa:
            services = wa.runtime.services
            services.dispatcher.clock = clock
            again = await targeted_broadcast(
                services, "vaccines", Audience(topic="health"), UPDATE, clock=clock
            )
            assert again.queued == 0  # planned once, queued once
            clock.now = start + timedelta(hours=23, minutes=59)
            services.dispatcher.wake()
            await wait_for_total(graph, 260, within=1.5)  # not a minute early
            for day in (1, 2, 3):
                clock.now = start + timedelta(days=day, seconds=1)
                services.dispatcher.wake()
                await wait_for_total(graph, 260 + 250 * day)
    per_person = Counter(s.to for s in graph.sent)
    assert len(per_person) == PEOPLE + IN_WINDOW and set(per_person.values()) == {1}


async def test_when_the_plan_slipped_the_gate_still_keeps_to_the_tier(services: Services) -> None:
    """Workers down for a day: two days' slots are due at once, yet only 250 go in 24 hours."""
    from bot.delivery.pacing import PacedGate
    from domain.models import OutboxMessage

    start = utcnow()
    async with services.db.session() as session:
        await session.execute(
            insert(Resident),
            [
                {
                    "channel": "whatsapp",
                    "chat_id": f"2548{i:08d}",
                    "language": "en",
                    "topics": ["health"],
                    "opted_out": False,
                    "blocked": False,
                    "created_at": start,
                }
                for i in range(300)
            ],
        )
    plan = await targeted_broadcast(
        services, "late", Audience(topic="health"), UPDATE, clock=Clock(start)
    )
    assert (plan.queued, plan.at_once, plan.paced) == (300, 250, 50)
    later = Clock(start + timedelta(hours=25))  # every slot is due now
    gate = PacedGate(services.db, 250, later)
    async with services.db.session() as session:
        ids = list(
            (await session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id))).all()
        )
    waits = [await gate.admit(outbox_id) for outbox_id in ids]
    assert waits[:250] == [0.0] * 250
    assert all(23.9 * 3600 < wait <= 24 * 3600 for wait in waits[250:])
    assert await gate.admit(ids[0]) == 0.0  # a retry of an admitted message is not held
    later.now += timedelta(hours=24, seconds=1)
    assert [await gate.admit(outbox_id) for outbox_id in ids[250:]] == [0.0] * 50
