"""Suggestions: numbered full texts, staff see the question at once, a pick answers it, and
one left alone joins the queue after the timeout and is answered when staff publish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.conversation.claims import RELATIVE_CUT, close_to_top, queue_stale_suggestions
from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.knowledge import ItemData
from domain.models import Cluster, Request, utcnow
from matching import Candidate
from tests.conftest import add_items, resident_presses, resident_says

FACTS = [
    ("Drinking hot water with lemon cures cholera within a day", "false"),
    ("Cholera vaccine in schools makes children sterile", "false"),
    ("Boiling water for one minute kills cholera germs", "true"),
]
SOURCE = "https://example.org/cholera"


@pytest.fixture
async def suggesting(suggesting_runtime: Runtime) -> Runtime:
    """A runtime that suggests for almost anything (and never answers outright), with FACTS."""
    await add_items(
        suggesting_runtime,
        *(
            ItemData(claim, verdict, "Health ministry.", source_url=SOURCE, publisher="Health Desk")
            for claim, verdict in FACTS
        ),
    )
    return suggesting_runtime


def test_only_candidates_close_to_the_top_one_are_offered() -> None:
    ranked = [Candidate("a", 0.6), Candidate("d", 0.58), Candidate("b", 0.55), Candidate("c", 0.2)]
    assert [c.id for c in close_to_top(ranked, 0.85)] == ["a", "d", "b"]
    assert [c.id for c in close_to_top(ranked, 0.95)] == ["a", "d"]
    assert close_to_top([]) == [] and 0 < RELATIVE_CUT <= 1


async def test_a_suggestion_lists_numbered_full_texts_and_a_pick_answers(
    suggesting: Runtime,
) -> None:
    rt = suggesting
    [offer] = await resident_says(rt, "pick", "is the cholera jab at school bad for kids")
    lines = offer.text.splitlines()
    first = next(line for line in lines if line.startswith("1. "))
    picked = next(claim for claim, _ in FACTS if claim in first)  # the claim in full
    assert first.startswith(("1. ❌ FALSE: “", "1. ✅ TRUE: “")), first
    assert [b.label[:2] for b in offer.buttons[:-1]] == [
        f"{n}." for n in range(1, len(offer.buttons))
    ]
    async with rt.services.db.session() as session:
        request = (await session.scalars(select(Request))).one()
        assert request.outcome == "suggest" and request.cluster_id is not None  # staff see it
    [answer] = await resident_presses(rt, "pick", offer.buttons[0].data)
    assert answer.text.startswith(first[3:]), answer.text  # the verdict line, first
    assert picked in answer.text
    assert "Health Desk" in answer.text and "https://example.org/cholera" in answer.text
    async with rt.services.db.session() as session:
        request = (await session.scalars(select(Request))).one()
        assert request.outcome == "answer" and request.cluster_id is None
        assert (await session.scalars(select(Cluster))).all() == []  # nobody waits any more
    # "none of these", after all
    [again] = await resident_presses(rt, "pick", offer.buttons[-1].data)
    assert "city's team" in again.text


async def test_a_suggestion_left_alone_is_queued_once_and_answered_on_publish(
    suggesting: Runtime,
) -> None:
    rt = suggesting
    [offer] = await resident_says(rt, "idle", "cholera vaccine rumour at the school gate")
    async with rt.services.db.session() as session:
        assert await queue_stale_suggestions(session, utcnow() - timedelta(minutes=30)) == 0
    async with rt.services.db.session() as session:  # the resident walked away: time passes
        assert await queue_stale_suggestions(session, utcnow() + timedelta(minutes=1)) == 1
    async with rt.services.db.session() as session:
        assert await queue_stale_suggestions(session, utcnow() + timedelta(minutes=1)) == 0
        request = (await session.scalars(select(Request))).one()
        cluster_id = request.cluster_id
    assert request.outcome == "queue" and cluster_id is not None
    rt.services.dispatcher.wake()
    told = await rt.webchat_outbox.wait_for("idle", 2, timeout=10)
    assert len(told) == 2 and "city's team will check it" in told[1].text
    [late] = await resident_presses(rt, "idle", offer.buttons[-1].data)  # a late "none of these"
    assert "already with the city's team" in late.text
    draft = AnswerDraft(verdict="false", explanation="The vaccine is safe; no such effect.")
    result = await publish_answer(rt.services, cluster_id, draft)
    assert result.notified == 1
    sent = await rt.webchat_outbox.wait_for("idle", 4, timeout=10)
    assert "The vaccine is safe" in sent[-1].text and sent[-1].text.startswith("The city's team")


def test_what_a_reader_cannot_read_is_labelled_and_never_glued_across_languages() -> None:
    from bot.texts import replies
    from domain.models import KnowledgeItem

    item = KnowledgeItem(
        claim="The city will cut off all water for two weeks",
        verdict="false",
        explanation="Only a 12-hour cut.",
        language="en",
        publisher=None,
        translations={"hi": {"claim": "शहर दो हफ़्ते पानी बंद करेगा", "explanation": "सिर्फ़ 12 घंटे।"}},
    )
    assert replies.candidate_line(1, item, "sw").startswith("1. (English) ❌ FALSE: “The city")
    assert replies.candidate_line(1, item, "hi").startswith("1. ❌ झूठ: “शहर दो हफ़्ते")
    swahili = replies.render_answer(item, "sw")
    assert swahili.startswith("Jibu hili linapatikana kwa English pekee:\n\n❌ FALSE: “The city")
    assert "Source: not named" in swahili  # the publisher line is always there
    for rendered in (swahili, replies.render_answer(item, "hi"), replies.render_answer(item, "en")):
        for line in rendered.splitlines():  # the rumour's words only beside the verdict
            if "water for two weeks" in line or "पानी बंद" in line:
                assert line.startswith("❌"), line
