"""The channel-agnostic journey, through the local chat channel (the collecting adapter)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.conversation.core import Conversation
from bot.conversation.flood import FloodGuard
from bot.conversation.publishing import AnswerDraft, PublishError, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from domain.db import StorageUnavailable
from domain.inbox import accept
from domain.messages import InboundMessage
from domain.models import Cluster, Request, Resident
from domain.residents import blocked_residents, lift_block
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.conftest import add_item, resident_says


async def test_forwarded_rumour_gets_the_verdict(runtime: Runtime) -> None:
    water_cut = "The city will cut off all water supply for two weeks starting Monday."
    await add_item(runtime, water_cut, publisher="Fact Desk")
    forward = (
        "Forwarded as received!! The city will cut off ALL water supply "
        "for two weeks starting Monday. Share with everyone"
    )
    replies = await resident_says(runtime, "r1", forward)
    assert "FALSE" in replies[0].text
    assert "https://example.org/fc/1" in replies[0].text


async def test_unknown_claim_is_queued_then_answer_notifies_everyone_once(runtime: Runtime) -> None:
    rumour = "Lions escaped from the national park and are walking in the market tonight"
    first = await resident_says(runtime, "r1", rumour)
    await resident_says(runtime, "r2", rumour + "!!")
    assert "city's team" in first[0].text
    async with runtime.services.db.session() as session:
        clusters = (await session.scalars(select(Cluster))).all()
    assert len(clusters) == 1 and clusters[0].ask_count == 2
    draft = AnswerDraft(verdict="false", explanation="Park rangers confirm all lions are inside.")
    result = await publish_answer(runtime.services, clusters[0].id, draft)
    assert result.notified == 2
    with pytest.raises(PublishError):  # a second answer would notify twice: correct it instead
        await publish_answer(runtime.services, clusters[0].id, draft)
    for chat in ("r1", "r2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 2)
        assert "Park rangers" in sent[-1].text
    # the next forward of the same rumour is answered at once
    replies = await resident_says(runtime, "r3", rumour)
    assert "FALSE" in replies[0].text


async def test_forget_deletes_the_resident(runtime: Runtime) -> None:
    await resident_says(
        runtime, "r9", "Is it true that schools close tomorrow because of the storm"
    )
    replies = await resident_says(runtime, "r9", "/forget")
    assert "deleted" in replies[0].text
    async with runtime.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 0
        assert await session.scalar(select(func.count()).select_from(Request)) == 0


async def test_a_message_accepted_before_a_crash_is_answered_after_recovery(
    runtime: Runtime,
) -> None:
    message = InboundMessage(
        channel="webchat",
        sender="r20",
        message_id="crash-1",
        text="Is it true the stadium will be demolished next week",
        forwarded=True,
    )
    async with runtime.services.db.session() as session:
        assert await accept(session, message)  # accepted, then the process "died"
    assert await runtime.conversation.recover(older_than=timedelta(0)) == 1
    sent = await runtime.webchat_outbox.wait_for("r20", 1)
    assert "city's team" in sent[0].text
    assert await runtime.conversation.recover(older_than=timedelta(0)) == 0


async def test_accept_processes_in_the_background_and_ignores_redelivery(runtime: Runtime) -> None:
    message = InboundMessage(channel="webchat", sender="r21", message_id="dup-1", text="/help")
    assert await runtime.conversation.accept(message)
    assert not await runtime.conversation.accept(message)
    await runtime.conversation.wait_idle()
    sent = await runtime.webchat_outbox.wait_for("r21", 1)
    assert len(sent) == 1 and "/language" in sent[0].text


async def test_unreachable_database_is_reported_not_swallowed(
    settings: Settings, embedder: Embedder, intent_parser: IntentParser
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:9/none"}
    )
    conversation = Conversation(build_services(down, embedder=embedder, parser=intent_parser))
    with pytest.raises(StorageUnavailable):
        await conversation.accept(
            InboundMessage(channel="webchat", sender="x", message_id="1", text="hi")
        )
    await conversation.services.db.dispose()


async def test_a_flooding_resident_is_slowed_then_blocked_and_staff_can_lift_it(
    runtime: Runtime,
) -> None:
    runtime.services.flood = FloodGuard(slow_after=3, block_after=5)

    for n in range(6):
        await runtime.conversation.handle(
            InboundMessage(channel="webchat", sender="spam", message_id=f"f{n}", text="/help")
        )
    await runtime.webchat_outbox.wait_for("spam", 4, timeout=20)
    await asyncio.sleep(0.5)  # room for a fifth message, which must not come
    texts = [m.text for m in runtime.webchat_outbox.sent["spam"]]
    assert len(texts) == 4 and "wait" in texts[-1]
    async with runtime.services.db.session() as session:
        (resident,) = await blocked_residents(session)
        assert resident.chat_id == "spam"
        await lift_block(session, resident.id)
    runtime.services.flood = FloodGuard(slow_after=100, block_after=200)
    assert "/language" in (await resident_says(runtime, "spam", "/help"))[0].text
