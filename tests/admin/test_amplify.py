"""Sending an answer's cards to influencers in one area and language, through the fake Bot API."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from starlette.applications import Starlette

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.models import AuditEvent, Resident, SubscriberProfile
from tests.admin.conftest import add_user, csrf_of, login, seed
from tests.fakes.telegram_api import FakeTelegram

LIONS = "Lions escaped from the national park and are walking in the market tonight"
PEOPLE = {  # chat id: (role, areas, language)
    9101: ("influencer", ["Kibera"], "sw"),
    9102: ("influencer", ["Kibera", "Eastlands"], "sw"),
    9103: ("influencer", ["Eastlands"], "sw"),  # another area
    9104: ("influencer", ["Kibera"], "en"),  # another language
    9105: ("community_leader", ["Kibera"], "sw"),  # another role
    9106: (None, [], "sw"),  # a resident
}


@pytest.fixture
async def panel(telegram_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=telegram_runtime.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as http:
        await add_user(telegram_runtime, "moderator", "moderator")
        assert (await login(http, "moderator")).status_code == 303
        yield http


async def seed_people(runtime: Runtime) -> None:
    async with runtime.services.db.session() as session:
        for chat, (role, areas, language) in PEOPLE.items():
            resident = Resident(
                channel="telegram", chat_id=str(chat), language=language, topics=["health"]
            )
            session.add(resident)
            await session.flush()
            if role:
                session.add(
                    SubscriberProfile(
                        resident_id=resident.id, role=role, areas=areas, languages=[language]
                    )
                )


async def test_influencers_in_one_area_and_language_get_the_card_once(
    telegram_runtime: Runtime, panel: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    await seed_people(telegram_runtime)
    cluster_id = await seed(telegram_runtime, LIONS, ["asker"])
    draft = AnswerDraft(
        verdict="false",
        explanation="Park rangers confirm every lion is inside.",
        translations={
            "sw": {"claim": "Simba wametoroka hifadhini", "explanation": "Wote wako ndani."}
        },
    )
    answer_id = (await publish_answer(telegram_runtime.services, cluster_id, draft)).answer_id
    page = await panel.get(f"/admin/answers/{answer_id}/cards")
    nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', page.text)
    assert nonce
    form = {
        "csrf_token": csrf_of(page.text),
        "nonce": nonce.group(1),
        "roles": ["influencer"],
        "areas_text": "Kibera",
        "languages": ["sw"],
    }
    preview = await panel.post(
        f"/admin/answers/{answer_id}/broadcast", data={**form, "action": "preview"}
    )
    assert preview.status_code == 200
    assert "<strong>2</strong> people (2 of them influencers or community leaders" in preview.text
    assert '<td>telegram</td><td>sw</td><td class="num">2</td>' in preview.text
    assert not fake.sent_to(9101)  # a preview sends nothing
    for _ in range(2):  # a double click sends once
        sent = await panel.post(
            f"/admin/answers/{answer_id}/broadcast", data={**form, "action": "send"}
        )
        assert sent.status_code == 303
    for chat in (9101, 9102):
        messages = await fake.wait_for_messages(chat, 1, timeout=10)
        # the card arrives as a photo, the forward-ready text as its caption
        assert "Shiriki hili na vikundi vyako" in messages[0]["text"]
        assert "SI KWELI: Simba wametoroka hifadhini" in messages[0]["text"]
        assert "card.png" not in messages[0]["text"]
        card_link = re.fullmatch(
            r"http://127\.0\.0\.1:8080(/claims/\d+/card\.png\?lang=sw)", messages[0]["photo"]
        )
        assert card_link
    assert not fake.calls_of("sendMessage")  # one photo each, nothing else
    await asyncio.sleep(0.5)
    for chat in PEOPLE:
        assert len(fake.sent_to(chat)) == (1 if chat in (9101, 9102) else 0), chat
    card = await panel.get(card_link.group(1))
    assert card.status_code == 200 and Image.open(io.BytesIO(card.content)).size == (1080, 1080)
    async with telegram_runtime.services.db.session() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "broadcast.targeted"))
        ).all()
    assert len(events) == 2 and events[0].after["roles"] == ["influencer"]
    assert sorted(e.after["queued"] for e in events) == [0, 2]


async def test_a_broadcast_needs_a_role(
    telegram_runtime: Runtime, panel: httpx.AsyncClient
) -> None:
    cluster_id = await seed(telegram_runtime, LIONS, ["asker"])
    draft = AnswerDraft(verdict="false", explanation="Park rangers confirm every lion is inside.")
    answer_id = (await publish_answer(telegram_runtime.services, cluster_id, draft)).answer_id
    page = await panel.get(f"/admin/answers/{answer_id}/cards")
    refused = await panel.post(
        f"/admin/answers/{answer_id}/broadcast",
        data={"csrf_token": csrf_of(page.text), "action": "send"},
    )
    assert refused.status_code == 400 and "Choose at least one role." in refused.text
