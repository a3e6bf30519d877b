"""WhatsApp's 24-hour window and its limits, through the fake Graph API with an injected clock:
a question still unanswered at 23 hours gets one "still checking" message inside the window and
its answer later goes as the template; a pair-rate or throughput limit is tried again later and
delivered once; a free-form message that Meta's receipt says arrived after the window closed
(131047) goes again as its template, once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.delivery.pacing import PAIR_BURST, PAIR_SECONDS
from domain.db import Database
from domain.models import Cluster, OutboxKind, OutboxMessage, Resident, utcnow
from domain.outbox import enqueue
from domain.residents import resident_for
from domain.settings import Settings
from matching import Embedder
from tests.bot.channels.test_whatsapp import (
    RUMOUR,
    WhatsApp,
    notice,
    open_whatsapp,
    whatsapp_settings,
)
from tests.fakes import graph_api as meta
from tests.fakes.graph_api import FakeGraphAPI, Sent

pytestmark = pytest.mark.filterwarnings("ignore:PluginImportFixer.find_spec:ImportWarning")
STILL_CHECKING = "still checking the message you sent"


class Clock:
    """Real time moved forward: `now = ...` jumps, and time goes on from there."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    @property
    def now(self) -> datetime:
        return utcnow() + self.offset

    @now.setter
    def now(self, value: datetime) -> None:
        self.offset = value - utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clocked(settings: Settings, database: Database,
                  embedder: Embedder) -> AsyncIterator[tuple[WhatsApp, Clock]]:
    with FakeGraphAPI() as graph:
        async with open_whatsapp(whatsapp_settings(settings, graph), database, embedder,
                                 graph) as wa:
            clock = Clock()
            wa.runtime.services.dispatcher.clock = clock
            yield wa, clock


async def settle(wa: WhatsApp, chat: str, count: int, within: float = 10.0) -> list[Sent]:
    """Wake delivery, and return what reached `chat` once there are `count` messages."""
    wa.runtime.services.dispatcher.wake()
    return await wa.graph.wait_for(chat, count, within=within)


async def rows(wa: WhatsApp, chat: str) -> list[OutboxMessage]:
    """The chat's outbox rows once none of them is being sent."""
    for _ in range(200):
        found = await wa.outbox(chat)
        if all(row.status != "sending" for row in found):
            return found
        await wa.graph.wait_for(chat, 99, within=0.05)
    raise AssertionError("a row stayed in sending")


async def test_a_question_unanswered_at_23_hours_gets_one_message_then_the_template(
        clocked: tuple[WhatsApp, Clock]) -> None:
    wa, clock = clocked
    chat, start = "254700000080", clock.now
    [queued] = await wa.say(chat, meta.text_payload(chat, RUMOUR, forwarded=True))
    assert "city's team" in queued.text
    for hours in (1, 22, 22.9):  # too early: nothing
        clock.now = start + timedelta(hours=hours)
        await wa.runtime.remind_before_window_closes()
    assert len(await settle(wa, chat, 2, within=0.5)) == 1

    for minutes in (2, 4, 30, 50):  # the job runs every few minutes; one message
        clock.now = start + timedelta(hours=23, minutes=minutes)
        await wa.runtime.remind_before_window_closes()
    sent = await settle(wa, chat, 3, within=1.0)
    assert len(sent) == 2
    still = sent[1]
    assert still.type == "text" and STILL_CHECKING in still.text  # free-form: inside the window

    clock.now = start + timedelta(hours=26)  # the window has closed; staff answer now
    await wa.runtime.remind_before_window_closes()
    async with wa.runtime.services.db.session() as session:
        [cluster] = (await session.scalars(select(Cluster))).all()
    await publish_answer(wa.runtime.services, cluster.id,
                         AnswerDraft(verdict="false", explanation="Rangers counted every lion."))
    sent = await settle(wa, chat, 3)
    assert [s.type for s in sent] == ["text", "text", "template"]
    assert "Rangers counted" in sent[2].body["template"]["components"][0]["parameters"][0]["text"]


async def queue_notice(wa: WhatsApp, chat: str) -> None:
    async with wa.runtime.services.db.session() as session:
        resident = (await session.scalars(select(Resident).where(
            Resident.channel == "whatsapp", Resident.chat_id == chat))).one()
        await enqueue(session, resident, notice(chat), OutboxKind.NOTIFICATION)


@pytest.mark.parametrize("code,wait", [(131056, 60.0), (130429, 5.0)])
async def test_a_rate_limit_is_tried_again_later_and_delivered_once(
        clocked: tuple[WhatsApp, Clock], code: int, wait: float) -> None:
    wa, clock = clocked
    chat = "254700000081"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    wa.graph.fail(code, to=chat)
    requests = wa.graph.requests
    await queue_notice(wa, chat)
    wa.runtime.services.dispatcher.wake()
    for _ in range(200):  # the fake records in its own thread: poll
        if wa.graph.requests > requests:
            break
        await wa.graph.wait_for(chat, 99, within=0.05)
    [_, row] = await rows(wa, chat)
    assert row.status == "pending" and str(code) in (row.last_error or "")
    assert row.attempts == 0  # a platform limit is not a failed attempt
    assert wa.graph.requests == requests + 1
    assert len(wa.graph.sent_to(chat)) == 1  # not yet

    clock.now = utcnow() + timedelta(seconds=wait * 0.5)  # not before the platform's wait
    assert len(await settle(wa, chat, 2, within=0.5)) == 1
    clock.now = utcnow() + timedelta(seconds=wait + 1)
    sent = await settle(wa, chat, 2, within=wait + 5)
    assert len(sent) == 2 and "FALSE: lions" in sent[1].text
    [_, row] = await rows(wa, chat)
    assert row.status == "sent" and row.attempts == 1 and row.platform_message_id == sent[1].wamid
    clock.now = utcnow() + timedelta(hours=1)
    assert len(await settle(wa, chat, 3, within=0.5)) == 2  # once


async def test_a_131047_receipt_sends_the_template_once(clocked: tuple[WhatsApp, Clock]) -> None:
    wa, _clock = clocked
    chat = "254700000082"
    await wa.say(chat, meta.text_payload(chat, "hello"))
    await queue_notice(wa, chat)
    [_, free_form] = await settle(wa, chat, 2)
    assert free_form.type == "interactive"  # we thought the window was open
    receipt = meta.status_payload(free_form.wamid, chat, "failed", error_code=131047)
    for _ in range(2):  # Meta may deliver a webhook more than once
        assert (await wa.post(receipt)).status_code == 200
    sent = await settle(wa, chat, 3)
    assert [s.type for s in sent] == ["text", "interactive", "template"]
    assert sent[2].body["template"]["name"] == "rumour_answered"
    template = meta.status_payload(sent[2].wamid, chat, "failed", error_code=131047)
    assert (await wa.post(template)).status_code == 200  # a template is not re-sent again
    assert len(await settle(wa, chat, 4, within=0.5)) == 3
    [_, first, again] = await rows(wa, chat)
    assert first.delivery_status == "failed" and again.status == "sent"


async def test_messages_queued_for_one_resident_are_spaced_as_the_pair_limit_asks(
        clocked: tuple[WhatsApp, Clock]) -> None:
    """Meta refuses a person more than one message per 6 s beyond a burst (131056): six
    notices queued at once reach the resident as a few at once, then one 6 s later, and the
    platform (as strict as the bot's own burst) refuses none of them."""
    wa, _clock = clocked
    chat = "254700000082"
    wa.graph.limit_pairs(seconds=PAIR_SECONDS, burst=PAIR_BURST)
    async with wa.runtime.services.db.session() as session:
        await resident_for(session, "whatsapp", chat, seen_at=utcnow())
    for _ in range(int(PAIR_BURST) + 1):
        await queue_notice(wa, chat)
    started = time.monotonic()
    assert len(await settle(wa, chat, int(PAIR_BURST), within=5.0)) == PAIR_BURST
    assert len(await settle(wa, chat, int(PAIR_BURST) + 1, within=3.0)) == PAIR_BURST
    assert len(await settle(wa, chat, int(PAIR_BURST) + 1, within=10.0)) == PAIR_BURST + 1
    assert time.monotonic() - started >= PAIR_SECONDS * 0.9
    assert wa.graph.refused[131056] == 0
    assert [row.status for row in await rows(wa, chat)] == ["sent"] * (int(PAIR_BURST) + 1)
