"""Suggestions across languages: a resident is offered cards they can read.

An item that exists neither in the resident's language nor in their message's (as its claim or
as a stored translation) is not offered on a cross-lingual match below the answer bar; an item
that has the resident's language is offered, and its card is in that language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation.claims import close_to_top
from bot.runtime.app import Runtime
from domain.knowledge import ItemData
from domain.models import Request
from matching import Candidate, Outcome
from tests.conftest import add_items, resident_says

VACCINE_EN = "Cholera vaccine in schools makes children sterile"
VACCINE_ES = "La vacuna contra el cólera en las escuelas deja estériles a los niños"
LEMON_ID = "Minum air panas dengan lemon menyembuhkan kolera dalam satu hari"
SPANISH_LEMON = "Dicen que beber agua caliente con limón cura el cólera en un solo día"
SPANISH_VACCINE = "Ojo: la vacuna del cólera que ponen en el colegio deja a los niños estériles"
INDONESIAN_LEMON = "Katanya minum air panas pakai lemon bisa menyembuhkan kolera dalam sehari"


@pytest.fixture
async def suggesting(suggesting_runtime: Runtime) -> Runtime:
    """Suggests for almost anything, never answers outright; an English item translated into
    Spanish, and an Indonesian-only one."""
    spanish = {"es": {"claim": VACCINE_ES, "explanation": "Es segura."}}
    await add_items(
        suggesting_runtime,
        ItemData(VACCINE_EN, "false", "The vaccine is safe.", translations=spanish),
        ItemData(LEMON_ID, "false", "Air lemon tidak mengobati kolera.", language="id"),
    )
    return suggesting_runtime


async def test_a_card_in_a_third_language_is_not_offered_and_the_residents_is(
    suggesting: Runtime,
) -> None:
    rt = suggesting
    # the engine's best candidate for the Spanish message is the Indonesian item
    decision = await rt.services.knowledge.decide(SPANISH_LEMON, "es")
    assert decision.outcome is Outcome.SUGGEST
    assert [c.lang for c in close_to_top(decision.candidates)][:1] == ["id"]

    await resident_says(rt, "ana", "/language es")
    [reply] = await resident_says(rt, "ana", SPANISH_LEMON)
    assert reply.language == "es"
    assert LEMON_ID not in reply.text and "Indonesia" not in reply.text
    assert not reply.buttons  # nothing to pick: the question went to the team
    async with rt.services.db.session() as session:
        request = (await session.scalars(select(Request).order_by(Request.id))).all()[-1]
        assert request.outcome == "queue" and request.cluster_id is not None

    [offer] = await resident_says(rt, "ana", SPANISH_VACCINE)
    assert VACCINE_ES in offer.text  # the item's Spanish card, not its English claim
    assert VACCINE_EN not in offer.text and LEMON_ID not in offer.text

    # an Indonesian reader is offered the Indonesian item
    await resident_says(rt, "budi", "/language id")
    [offer_id] = await resident_says(rt, "budi", INDONESIAN_LEMON)
    assert LEMON_ID in offer_id.text and offer_id.buttons


def test_a_third_language_card_is_offered_only_above_the_bar() -> None:
    from bot.conversation.offers import readable_offers
    from domain.models import KnowledgeItem

    def item(i: int, language: str, translations: dict[str, dict[str, str]]) -> KnowledgeItem:
        return KnowledgeItem(
            id=i,
            claim=f"claim {i}",
            verdict="false",
            explanation="",
            language=language,
            translations=translations,
        )

    items = [item(1, "en", {"es": {"claim": "uno"}}), item(2, "id", {}), item(3, "sw", {})]
    cands = [Candidate("1", 0.6), Candidate("2", 0.95), Candidate("3", 0.5)]
    asked: list[bool] = []

    def detected() -> str | None:
        asked.append(True)
        return None

    kept, shown = readable_offers(cands, items, "es", detected, bar=0.9)
    assert [c.id for c in kept] == ["1", "2"] and [i.id for i in shown] == [1, 2]
    assert asked == [True]  # detection only once, and only when needed
    kept, _ = readable_offers(cands, items, "es", lambda: "sw", bar=0.99)
    assert [c.id for c in kept] == ["1", "3"]  # the message's own language is readable too
    asked.clear()
    kept, _ = readable_offers(cands[:1], items, "es-MX", detected, bar=0.99)
    assert [c.id for c in kept] == ["1"] and asked == []
