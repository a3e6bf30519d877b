"""Confirmed variants: the message texts a knowledge item is known to answer.

Staff answering a cluster confirm every request text of it; residents who pick a suggested item
leave a *pending* variant, confirmed when residents of ``confirmations`` different chats picked
the same item for near-duplicate texts (or when staff confirm it). Only confirmed variants are
indexed (``bot.conversation.indexes.KnowledgeIndex``); a near-duplicate of one is answered with
its item.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    KnowledgeItem,
    KnowledgeVariant,
    Request,
    VariantSource,
    VariantStatus,
    utcnow,
)
from matching.agreement import restates
from matching.dedup import dedup_key, text_hash
from matching.normalise import normalise_text
from matching.tokenise import content_words

MIN_CONTENT_WORDS = 4  # shorter texts ("is this true?") say nothing about which claim
MAX_VARIANT_CHARS = 2000


def variant_key(text: str) -> str:
    """The hash of a text's normalised words: one key for the same words, whatever the noise."""
    return f"{text_hash(dedup_key(normalise_text(text))):016x}"


def usable(text: str) -> bool:
    return len(content_words(normalise_text(text))) >= MIN_CONTENT_WORDS


def _near(a: str, b: str) -> bool:
    """Near-duplicates by the rule the matching engine answers on (one restates the other)."""
    ka, kb = dedup_key(normalise_text(a)), dedup_key(normalise_text(b))
    return restates(ka, kb) or restates(kb, ka)


async def _confirmed_keys(session: AsyncSession, item_id: int) -> set[str]:
    query = select(KnowledgeVariant.text_key).where(
        KnowledgeVariant.item_id == item_id, KnowledgeVariant.status == VariantStatus.CONFIRMED
    )
    return set((await session.scalars(query)).all())


async def add_confirmed(
    session: AsyncSession,
    item: KnowledgeItem,
    texts: Iterable[tuple[str, str | None]],
    source: VariantSource,
) -> list[KnowledgeVariant]:
    """Confirmed variants of `item` for (text, language) pairs not known yet (nor its claim)."""
    known = await _confirmed_keys(session, item.id)
    known.add(variant_key(item.claim))
    known.update(variant_key(str(t.get("claim") or "")) for t in (item.translations or {}).values())
    added = []
    for text, language in texts:
        text = text.strip()[:MAX_VARIANT_CHARS]
        key = variant_key(text)
        if key in known or not usable(text):
            continue
        known.add(key)
        variant = KnowledgeVariant(
            item_id=item.id,
            text=text,
            text_key=key,
            language=language,
            source=source,
            status=VariantStatus.CONFIRMED,
        )
        session.add(variant)
        added.append(variant)
    await session.flush()
    return added


async def confirm_cluster(
    session: AsyncSession, cluster_id: int, item: KnowledgeItem
) -> list[KnowledgeVariant]:
    """Staff answered the cluster with `item`: every request text of it is a confirmed variant."""
    query = select(Request.text, Request.language).where(Request.cluster_id == cluster_id)
    rows = (await session.execute(query)).all()
    return await add_confirmed(
        session, item, [(t, lang) for t, lang in rows], VariantSource.CLUSTER
    )


async def record_pick(
    session: AsyncSession, item: KnowledgeItem, request: Request, confirmations: int
) -> KnowledgeVariant | None:
    """A resident picked `item` for their request: a pending variant, confirmed (and returned)
    once residents of `confirmations` different chats picked it for near-duplicate texts.

    The pending rows it counted are deleted then: the confirmed text names nobody.
    """
    language, resident_id = request.language, request.resident_id
    text = request.text.strip()[:MAX_VARIANT_CHARS]
    key = variant_key(text)
    if not usable(text) or key in await _confirmed_keys(session, item.id):
        return None
    pending_query = select(KnowledgeVariant).where(
        KnowledgeVariant.item_id == item.id, KnowledgeVariant.status == VariantStatus.PENDING
    )
    pending = list((await session.scalars(pending_query)).all())
    if not any(p.resident_id == resident_id and p.text_key == key for p in pending):
        mine = KnowledgeVariant(
            item_id=item.id,
            text=text,
            text_key=key,
            language=language,
            source=VariantSource.RESIDENT,
            status=VariantStatus.PENDING,
            resident_id=resident_id,
        )
        session.add(mine)
        pending.append(mine)
    alike = [p for p in pending if p.text_key == key or _near(p.text, text)]
    if len({p.resident_id for p in alike}) < confirmations:
        await session.flush()
        return None
    texts = [(p.text, p.language) for p in alike]  # every wording they saw, anonymous now
    for p in alike:
        if p.id is not None:
            await session.delete(p)
        else:
            session.expunge(p)
    await session.flush()
    added = await add_confirmed(session, item, texts, VariantSource.RESIDENTS)
    return added[0] if added else None


async def confirm_pending(session: AsyncSession, variant_id: int) -> KnowledgeVariant | None:
    """Staff confirm a pending variant; it no longer names the resident."""
    variant = await session.get(KnowledgeVariant, variant_id)
    if variant is None or variant.status != VariantStatus.PENDING:
        return None
    variant.status, variant.source = VariantStatus.CONFIRMED, VariantSource.STAFF
    variant.resident_id, variant.updated_at = None, utcnow()
    return variant


async def remove_variant(session: AsyncSession, variant_id: int) -> KnowledgeVariant | None:
    """A wrong variant: no longer matched on (the row stays so every process's index drops it)."""
    variant = await session.get(KnowledgeVariant, variant_id)
    if variant is None or variant.status == VariantStatus.REMOVED:
        return None
    variant.status, variant.resident_id, variant.updated_at = VariantStatus.REMOVED, None, utcnow()
    return variant


async def variants_of(session: AsyncSession, item_id: int) -> list[KnowledgeVariant]:
    """Pending and confirmed variants of an item, newest first."""
    query = (
        select(KnowledgeVariant)
        .where(
            KnowledgeVariant.item_id == item_id, KnowledgeVariant.status != VariantStatus.REMOVED
        )
        .order_by(KnowledgeVariant.id.desc())
    )
    return list((await session.scalars(query)).all())
