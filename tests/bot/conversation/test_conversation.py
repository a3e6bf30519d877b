"""The channel-agnostic journey, through the local chat channel (the collecting adapter)."""

from __future__ import annotations

import asyncio
import itertools
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
from domain.knowledge import ItemData, upsert_item
from domain.messages import InboundMessage
from domain.models import Cluster, Request, Resident
from domain.residents import blocked_residents, lift_block
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser

_ids = itertools.count(1)


async def say(
    rt: Runtime, chat: str, text: str = "", button: str | None = None, forwarded: bool = False
) -> list[str]:
    """Send one message as a resident and return the texts of the replies it produced."""
    before = len(rt.webchat_outbox.sent[chat])
    await rt.conversation.handle(
        InboundMessage(
            channel="webchat",
            sender=chat,
            message_id=f"m{next(_ids)}",
            text=text,
            callback_data=button,
            forwarded=forwarded,
        )
    )
    sent = await rt.webchat_outbox.wait_for(chat, before + 1)
    return [m.text for m in sent[before:]]


async def add_fact(
    rt: Runtime, claim: str, verdict: str = "false", explanation: str = "Not true."
) -> None:
    async with rt.services.db.session() as session:
        await upsert_item(
            session,
            ItemData(
                claim=claim,
                verdict=verdict,
                explanation=explanation,
                source_url="https://example.org/fc/1",
                publisher="Fact Desk",
            ),
        )
    await rt.services.knowledge.refresh()


async def test_forwarded_rumour_gets_the_verdict(runtime: Runtime) -> None:
    await add_fact(runtime, "The city will cut off all water supply for two weeks starting Monday.")
    replies = await say(
        runtime,
        "r1",
        "Forwarded as received!! The city will cut off ALL water supply "
        "for two weeks starting Monday. Share with everyone",
        forwarded=True,
    )
    assert "FALSE" in replies[0]
    assert "https://example.org/fc/1" in replies[0]


async def test_unknown_claim_is_queued_then_answer_notifies_everyone_once(runtime: Runtime) -> None:
    rumour = "Lions escaped from the national park and are walking in the market tonight"
    first = await say(runtime, "r1", rumour, forwarded=True)
    await say(runtime, "r2", rumour + "!!", forwarded=True)
    assert "city's team" in first[0]
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
    replies = await say(runtime, "r3", rumour, forwarded=True)
    assert "FALSE" in replies[0]


async def test_forget_deletes_the_resident(runtime: Runtime) -> None:
    await say(
        runtime, "r9", "Is it true that schools close tomorrow because of the storm", forwarded=True
    )
    replies = await say(runtime, "r9", "/forget")
    assert "deleted" in replies[0]
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
    assert "/language" in (await say(runtime, "spam", "/help"))[0]
