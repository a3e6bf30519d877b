"""Media hashes in storage: remember what a request, cluster or item looked like, and find the
item or open cluster a new file is a copy of.

Perceptual hashes are compared by Hamming distance in Python over the hashes of active items
and open clusters, or only over `near_ids`, the rows an index found near the new file's
(`bot.media.phash_index`: multi-index hashing, so a lookup does not read every stored hash).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    OPEN_STATUSES,
    Cluster,
    HashAlgorithm,
    ItemStatus,
    KnowledgeItem,
    MediaHash,
)

MIN_WORDS = 3
TEXT_AGREEMENT = 70.0  # rapidfuzz token-set ratio (0-100) of two images' words
TEXT_CHARS = 2000


@dataclass(frozen=True)
class Known:
    """The item or open cluster a file is a copy of, and how close (0 bits: the same file)."""

    item_id: int | None = None
    cluster_id: int | None = None
    distance: int = 0


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def text_agrees(stored: str | None, read: str) -> bool | None:
    """Whether the words read from two images agree; None when either has too few words to
    tell (a photo): then only a very close hash is a copy."""
    a, b = _words(stored or ""), _words(read)
    if len(a) < MIN_WORDS or len(b) < MIN_WORDS:
        return None
    return fuzz.token_set_ratio(" ".join(a), " ".join(b)) >= TEXT_AGREEMENT


def is_copy(distance: int, words: bool | None, max_distance: int,
            max_distance_without_words: int) -> bool:
    """A perceptual copy: close with agreeing words, or very close when there are no words to
    compare; never when the words differ (two notices made from one template)."""
    if words is False:
        return distance == 0
    limit = max_distance if words else max_distance_without_words
    return distance <= limit


def _words(text: str) -> list[str]:
    return [w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split()
            if len(w) > 1]


async def remember(session: AsyncSession, sha256: str, phashes: Iterable[str], *,
                   request_id: int | None = None, cluster_id: int | None = None,
                   item_id: int | None = None, text: str = "") -> None:
    """Store the hashes of one file (and the words read from it) for a request, cluster or
    item."""
    rows = [(HashAlgorithm.SHA256.value, sha256)] + [(HashAlgorithm.PHASH.value, p)
                                                      for p in dict.fromkeys(phashes)]
    for algorithm, value in rows:
        session.add(MediaHash(algorithm=algorithm, value=value, request_id=request_id,
                              cluster_id=cluster_id, knowledge_item_id=item_id,
                              text=text[:TEXT_CHARS] or None))
    await session.flush()


async def find_known(session: AsyncSession, sha256: str, phashes: Iterable[str],
                     max_distance: int, text: str = "",
                     max_distance_without_words: int = 6,
                     near_ids: Collection[int] | None = None) -> Known | None:
    """The active item or open cluster holding this exact file or a close perceptual copy
    whose words agree; an item wins over a cluster at the same distance. With `near_ids`,
    only those perceptual-hash rows are compared (an index's candidates)."""
    perceptual = MediaHash.algorithm == HashAlgorithm.PHASH
    if near_ids is not None:
        perceptual = and_(perceptual, MediaHash.id.in_(list(near_ids)))
    candidates = await session.execute(
        select(MediaHash.algorithm, MediaHash.value, MediaHash.knowledge_item_id,
               MediaHash.cluster_id, MediaHash.text)
        .outerjoin(KnowledgeItem, KnowledgeItem.id == MediaHash.knowledge_item_id)
        .outerjoin(Cluster, Cluster.id == MediaHash.cluster_id)
        .where(or_(KnowledgeItem.status == ItemStatus.ACTIVE, Cluster.status.in_(OPEN_STATUSES)))
        .where(or_(perceptual, and_(MediaHash.algorithm == HashAlgorithm.SHA256,
                                    MediaHash.value == sha256)))
    )
    wanted = list(phashes)
    best: tuple[int, int, Known] | None = None  # (distance, 0 for an item / 1 for a cluster)
    for algorithm, value, item_id, cluster_id, stored_text in candidates:
        if algorithm == HashAlgorithm.SHA256:
            distance = 0
        elif wanted:
            distance = min(hamming(value, p) for p in wanted)
        else:
            continue
        if algorithm != HashAlgorithm.SHA256 and not is_copy(
                distance, text_agrees(stored_text, text), max_distance,
                max_distance_without_words):
            continue
        rank = (distance, 0 if item_id is not None else 1)
        if best is None or rank < best[:2]:
            best = (*rank, Known(item_id, cluster_id, distance))
    return best[2] if best is not None else None


async def attach_cluster_media(session: AsyncSession, cluster_id: int, item_id: int) -> int:
    """Give an item the media hashes of the cluster it answers (the next copy is answered)."""
    query = select(MediaHash).where(MediaHash.cluster_id == cluster_id)
    rows = (await session.scalars(query)).all()
    for row in rows:
        session.add(MediaHash(algorithm=row.algorithm, value=row.value, knowledge_item_id=item_id,
                              text=row.text))
    await session.flush()
    return len(rows)


async def copy_request_media(session: AsyncSession, request_id: int, cluster_id: int) -> None:
    """A queued request's media hashes also describe its cluster (similar files join it)."""
    query = select(MediaHash).where(MediaHash.request_id == request_id)
    for row in (await session.scalars(query)).all():
        session.add(MediaHash(algorithm=row.algorithm, value=row.value, cluster_id=cluster_id,
                              text=row.text))
