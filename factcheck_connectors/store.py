"""Writing fetched items into the knowledge base, de-duplicated across sources.

Two items are the same fact-check when they share a canonical URL (`matching.normalise.
canonical_url`), or when two *different* sources carry the same normalised claim text (at least
`MIN_CLAIM_WORDS` words, so two short press-release titles from one source stay apart). The
first one in stays active; later copies are counted as duplicates and not written.
Keys live in `item_keys`, beside the items; items written elsewhere (staff, imports) are keyed
lazily on the next ingest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.knowledge import ItemData, retire_item, upsert_item
from domain.models import ItemKey, ItemStatus, KnowledgeItem
from matching.normalise import canonical_url, normalise_text

MIN_CLAIM_WORDS = 4
_CHUNK = 400
_PUNCT = re.compile(r"[^\w\s]+")


@dataclass
class IngestCounts:
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    retired: int = 0

    def add(self, other: IngestCounts) -> None:
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.duplicates += other.duplicates
        self.retired += other.retired


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def url_key(url: str | None) -> str | None:
    canonical = canonical_url(url or "")
    return _digest(canonical) if canonical else None


def _claim_words(claim: str) -> list[str]:
    return _PUNCT.sub(" ", normalise_text(claim)).split()


def claim_key(claim: str) -> str:
    return _digest(" ".join(_claim_words(claim)))


def _claim_counts(claim: str) -> bool:
    return len(_claim_words(claim)) >= MIN_CLAIM_WORDS


Owner = tuple[str, str | None]  # (origin, external_id)


class _Seen:
    """Active items already in the knowledge base under each key, for one batch."""

    def __init__(self) -> None:
        self.by_url: dict[str, set[Owner]] = {}
        self.by_claim: dict[str, set[Owner]] = {}

    def note(self, owner: Owner, url: str | None, claim: str) -> None:
        if url:
            self.by_url.setdefault(url, set()).add(owner)
        self.by_claim.setdefault(claim, set()).add(owner)

    def duplicate_of(self, owner: Owner, url: str | None, claim: str, claim_matters: bool) -> bool:
        if url and self.by_url.get(url, set()) - {owner}:
            return True
        if not claim_matters:
            return False
        return any(origin != owner[0] for origin, _ in self.by_claim.get(claim, set()))


async def ensure_keys(session: AsyncSession) -> int:
    """Key every item that has no keys yet (written by staff, imports or older versions)."""
    query = (
        select(KnowledgeItem.id, KnowledgeItem.claim, KnowledgeItem.source_url)
        .outerjoin(ItemKey, ItemKey.item_id == KnowledgeItem.id)
        .where(ItemKey.item_id.is_(None))
    )
    rows = (await session.execute(query)).all()
    for item_id, claim, url in rows:
        session.add(ItemKey(item_id=item_id, url_key=url_key(url), claim_key=claim_key(claim)))
    if rows:
        await session.flush()
    return len(rows)


async def _load_seen(session: AsyncSession, urls: set[str], claims: set[str]) -> _Seen:
    seen = _Seen()
    url_list, claim_list = sorted(urls), sorted(claims)
    for start in range(0, max(len(url_list), len(claim_list)), _CHUNK):
        u, c = url_list[start : start + _CHUNK], claim_list[start : start + _CHUNK]
        query = (
            select(
                ItemKey.url_key, ItemKey.claim_key, KnowledgeItem.origin, KnowledgeItem.external_id
            )
            .join(KnowledgeItem, KnowledgeItem.id == ItemKey.item_id)
            .where(KnowledgeItem.status == ItemStatus.ACTIVE)
            .where(or_(ItemKey.url_key.in_(u), ItemKey.claim_key.in_(c)))
        )
        for ukey, ckey, origin, external in (await session.execute(query)).all():
            seen.note((origin, external), ukey, ckey)
    return seen


async def ingest(
    session: AsyncSession,
    origin: str,
    items: Sequence[ItemData],
    retired_external_ids: Iterable[str] = (),
) -> IngestCounts:
    """Upsert `items` under `origin`, skipping duplicates of other items; retire the given ids.

    Rows of this origin are loaded once per batch: unchanged items cost no query, new items
    are inserted together, and only changed ones go through `upsert_item` one by one."""
    counts = IngestCounts()
    await ensure_keys(session)
    keyed = [(item, url_key(item.source_url), claim_key(item.claim)) for item in items]
    seen = await _load_seen(session, {u for _, u, _ in keyed if u}, {c for _, _, c in keyed})
    rows = await _own_rows(session, origin, [i.external_id for i in items if i.external_id])
    fresh: list[tuple[KnowledgeItem, str | None, str]] = []
    for item, ukey, ckey in keyed:
        item.origin = origin
        owner = (origin, item.external_id)
        if seen.duplicate_of(owner, ukey, ckey, _claim_counts(item.claim)):
            counts.duplicates += 1
            continue
        seen.note(owner, ukey, ckey)
        row = rows.get(item.external_id) if item.external_id else None
        if row is None:
            row = KnowledgeItem(**vars(item), status=ItemStatus.ACTIVE)
            session.add(row)
            fresh.append((row, ukey, ckey))
            if item.external_id:
                rows[item.external_id] = row
            counts.changed += 1
        elif _same(row, item):
            counts.unchanged += 1
        else:
            await upsert_item(session, item)
            key = await session.get(ItemKey, row.id) if row.id else None
            if key is not None:
                key.url_key, key.claim_key = ukey, ckey
            counts.changed += 1
    if fresh:
        await session.flush()
        session.add_all(ItemKey(item_id=row.id, url_key=u, claim_key=c) for row, u, c in fresh)
    counts.retired = await retire_external(session, origin, retired_external_ids)
    return counts


def _same(row: KnowledgeItem, data: ItemData) -> bool:
    return all(getattr(row, key) == value for key, value in vars(data).items())


async def _own_rows(session: AsyncSession, origin: str, ids: list[str]) -> dict[str, KnowledgeItem]:
    found: dict[str, KnowledgeItem] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(KnowledgeItem).where(
            KnowledgeItem.origin == origin,
            KnowledgeItem.external_id.in_(ids[start : start + _CHUNK]),
        )
        found.update(
            (r.external_id, r) for r in (await session.scalars(query)).all() if r.external_id
        )
    return found


async def retire_external(session: AsyncSession, origin: str, external_ids: Iterable[str]) -> int:
    ids = [str(x) for x in external_ids]
    retired = 0
    for start in range(0, len(ids), _CHUNK):
        query = select(KnowledgeItem).where(
            KnowledgeItem.origin == origin,
            KnowledgeItem.external_id.in_(ids[start : start + _CHUNK]),
            KnowledgeItem.status == ItemStatus.ACTIVE,
        )
        for row in (await session.scalars(query)).all():
            await retire_item(session, row.id)
            retired += 1
    return retired
