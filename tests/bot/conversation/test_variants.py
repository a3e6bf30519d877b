"""Confirmed variants in a real conversation: what residents see once staff or other residents
have confirmed which item a message text is answered by."""

from __future__ import annotations

from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, answer_with_existing, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services, prepare
from domain.knowledge import retire_item
from domain.messages import OutboundMessage
from domain.models import (
    Cluster,
    KnowledgeItem,
    KnowledgeVariant,
    VariantSource,
    VariantStatus,
    utcnow,
)
from domain.variants import confirm_pending, remove_variant, usable, variant_key
from matching import Outcome
from tests.conftest import add_item, resident_presses, resident_says

MEASLES = "The measles vaccine given at schools causes infertility in girls."
# a different wording the engine only suggests for MEASLES in a small knowledge base
CHAIN = (
    "Warning to parents: the measles injection they give in class makes our daughters unable "
    "to have children, do not let them take it"
)


def _noisy(text: str, n: int) -> str:
    """A viral re-forward: boilerplate, case, emoji, punctuation."""
    forms = [
        f"Forwarded as received: {text} 😱😱",
        f"{text.upper()}!!!",
        f"*Forwarded many times*\n{text.lower()} 🙏 share with everyone",
    ]
    return forms[n % len(forms)]


async def _item(rt: Runtime, claim: str = MEASLES) -> int:
    return await add_item(
        rt,
        claim,
        "No study links the measles vaccine to infertility.",
        "https://example.org/fc/measles",
    )


async def _pick(rt: Runtime, chat: str, text: str, item_id: int) -> list[OutboundMessage]:
    """Forward `text`, expect a suggestion that offers `item_id`, and tap it."""
    replies = await resident_says(rt, chat, text)
    offered = rt.webchat_outbox.sent[chat][-1]
    buttons = [b.data for b in offered.buttons if b.data.startswith("pick:")]
    assert any(b.endswith(f":{item_id}") for b in buttons), replies
    chosen = next(b for b in buttons if b.endswith(f":{item_id}"))
    return await resident_presses(rt, chat, chosen)


async def _variants(rt: Runtime, status: VariantStatus | None = None) -> list[KnowledgeVariant]:
    async with rt.services.db.session() as session:
        query = select(KnowledgeVariant)
        if status is not None:
            query = query.where(KnowledgeVariant.status == status)
        return list((await session.scalars(query)).all())


async def test_every_text_of_an_answered_cluster_is_answered_when_forwarded_again(
    runtime: Runtime,
) -> None:
    lions = "Lions escaped from the national park and are walking in the market tonight"
    texts = [lions, f"{lions}, stay at home!!", f"Forwarded as received: {lions.upper()}"]
    for n, text in enumerate(texts):
        assert "city's team" in (await resident_says(runtime, f"asker{n}", text))[0].text
    async with runtime.services.db.session() as session:
        (cluster,) = (await session.scalars(select(Cluster))).all()
    draft = AnswerDraft(
        verdict="false",
        explanation="Park rangers confirm all lions are inside.",
        claim="Lions have escaped from the national park.",
    )
    await publish_answer(runtime.services, cluster.id, draft)
    confirmed = await _variants(runtime, VariantStatus.CONFIRMED)
    # one variant per distinct text (forwarding boilerplate and case do not count)
    assert sorted(v.text_key for v in confirmed) == sorted({variant_key(t) for t in texts})
    assert {v.source for v in confirmed} == {VariantSource.CLUSTER}
    for n, text in enumerate(texts):
        replies = await resident_says(runtime, f"again{n}", _noisy(text, n))
        assert "FALSE" in replies[0].text and "Park rangers" in replies[0].text, replies


async def test_answer_with_an_existing_item_confirms_the_cluster_texts(runtime: Runtime) -> None:
    chain = "Nobody is telling you this but the school measles shots are sterilising our girls"
    assert "city's team" in (await resident_says(runtime, "q1", chain))[0].text
    item_id = await _item(runtime)  # staff find (or add) the item that answers it
    async with runtime.services.db.session() as session:
        (cluster_id,) = (await session.scalars(select(Cluster.id))).all()
    await answer_with_existing(runtime.services, cluster_id, item_id)
    (variant,) = await _variants(runtime, VariantStatus.CONFIRMED)
    assert variant.item_id == item_id and variant.text == chain
    replies = await resident_says(runtime, "q2", _noisy(chain, 0))
    assert "FALSE" in replies[0].text and "infertility" in replies[0].text


def test_short_texts_are_never_variants() -> None:
    assert not usable("Is this true??")
    assert not usable("Who runs it?")
    assert usable(CHAIN)


async def test_residents_picking_the_same_item_teach_the_bot(runtime: Runtime) -> None:
    item_id = await _item(runtime)
    decision = await runtime.services.knowledge.decide(CHAIN, "en")
    assert decision.outcome is Outcome.SUGGEST  # what the engine alone does
    first = await _pick(runtime, "mum1", _noisy(CHAIN, 0), item_id)
    assert "FALSE" in first[0].text
    (pending,) = await _variants(runtime, VariantStatus.PENDING)
    assert pending.resident_id is not None and pending.item_id == item_id
    # the same resident picking again does not count twice
    await _pick(runtime, "mum1", _noisy(CHAIN, 1), item_id)
    assert len(await _variants(runtime, VariantStatus.CONFIRMED)) == 0
    await _pick(runtime, "mum2", _noisy(CHAIN, 2), item_id)
    (confirmed,) = await _variants(runtime, VariantStatus.CONFIRMED)
    assert confirmed.resident_id is None and confirmed.source == VariantSource.RESIDENTS
    assert await _variants(runtime, VariantStatus.PENDING) == []
    # the next resident forwarding the chain message gets the answer at once
    replies = await resident_says(runtime, "mum3", _noisy(CHAIN, 1))
    assert "FALSE" in replies[0].text and "infertility" in replies[0].text
    assert not runtime.webchat_outbox.sent["mum3"][-1].buttons or all(
        not b.data.startswith("pick:") for b in runtime.webchat_outbox.sent["mum3"][-1].buttons
    )


async def test_forget_deletes_the_residents_pending_variants(runtime: Runtime) -> None:
    item_id = await _item(runtime)
    await _pick(runtime, "mum1", CHAIN, item_id)
    assert len(await _variants(runtime, VariantStatus.PENDING)) == 1
    assert "deleted" in (await resident_says(runtime, "mum1", "/forget"))[0].text
    assert await _variants(runtime) == []


async def test_staff_confirm_and_remove_and_retire_restore_follow(runtime: Runtime) -> None:
    item_id = await _item(runtime)
    await _pick(runtime, "mum1", CHAIN, item_id)
    (pending,) = await _variants(runtime, VariantStatus.PENDING)
    async with runtime.services.db.session() as session:
        assert await confirm_pending(session, pending.id) is not None
    await runtime.services.knowledge.refresh()
    assert "FALSE" in (await resident_says(runtime, "n1", _noisy(CHAIN, 0)))[0].text
    async with runtime.services.db.session() as session:  # retired: no answer from it
        await retire_item(session, item_id)
    await runtime.services.knowledge.refresh()
    assert "FALSE" not in (await resident_says(runtime, "n2", _noisy(CHAIN, 1)))[0].text
    async with runtime.services.db.session() as session:  # restored: its variants come back
        item = await session.get(KnowledgeItem, item_id)
        assert item is not None
        item.status, item.updated_at = "active", utcnow()
    await runtime.services.knowledge.refresh()
    assert "FALSE" in (await resident_says(runtime, "n3", _noisy(CHAIN, 2)))[0].text
    async with runtime.services.db.session() as session:  # a wrong variant removed by staff
        assert await remove_variant(session, pending.id) is not None
    await runtime.services.knowledge.refresh()
    decision = await runtime.services.knowledge.decide(_noisy(CHAIN, 0), "en")
    assert decision.outcome is not Outcome.ANSWER


async def test_variants_and_their_vectors_survive_a_restart(runtime: Runtime) -> None:
    item_id = await _item(runtime)
    await _pick(runtime, "mum1", CHAIN, item_id)
    await _pick(runtime, "mum2", _noisy(CHAIN, 0), item_id)
    (confirmed,) = await _variants(runtime, VariantStatus.CONFIRMED)
    assert confirmed.embedding is not None
    restarted = build_services(
        runtime.settings, embedder=runtime.services.knowledge.engine._embedder
    )
    await prepare(restarted)
    try:
        decision = await restarted.knowledge.decide(_noisy(CHAIN, 2), "en")
        assert decision.outcome is Outcome.ANSWER
        assert decision.candidates[0].id == str(item_id)
    finally:
        await restarted.db.dispose()
