"""The stored perceptual hashes near a new image's, without comparing it with every one.

Multi-index hashing (Norouzi, Punjani and Fleet, 2012): each 64-bit pHash is cut into four
16-bit bands, and each band is a hash table. Two hashes at most r bits apart differ in at most
floor(r / 4) bits in at least one band (pigeonhole), so probing each band with every value
within floor(r / 4) bits of the query's finds every stored hash within r: the same answer as
comparing with all of them (tests/media/test_phash_index.py checks that), while looking at a
few thousand buckets instead of every row. Candidates are then checked exactly, with their
words, by `domain.media.find_known`.

The index is faiss-cpu's `IndexBinaryMultiHash` (Meta's maintained similarity-search library),
not code of ours. A BK-tree (pybktree and others) was not used: at our cut of 16 bits of 64,
the triangle inequality prunes almost nothing (unrelated pHashes differ by 32 +- 4 bits, so
nearly every child of a node lies within d +- 16), and it is about as slow as the scan.

One index per database per process, following the `media_hashes` table by id (looking back
1,000 rows every 30 s, for rows whose transaction committed late) and rebuilt every 6 hours,
which drops the hashes of deleted requests, clusters and items (until then they only cost a
little memory: candidates are read back from the table, so a deleted row is never matched).
The first image a process reads builds the index: seconds for 100,000 hashes. Only hashes of
items and clusters are indexed: those are the only ones a copy can be answered or grouped by.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import HashAlgorithm, MediaHash

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
OVERLAP = 1000  # rows re-read below the cursor: an insert whose transaction committed late
OVERLAP_SECONDS = 30.0  # ... every this often (otherwise only rows past the cursor are read)
REBUILD_SECONDS = 6 * 3600.0  # drops deleted rows; rebuilding 100k hashes takes seconds
MAX_CANDIDATES = 2000
READ_BATCH = 50_000


def _faiss() -> Any:
    import faiss  # heavy (a C++ library): loaded when the first image is looked up

    faiss.omp_set_num_threads(1)  # a lookup is a millisecond; threads only contend
    return faiss


def codes(values: Iterable[str]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """64-bit hex hashes as faiss's binary codes (8 bytes each)."""
    packed = b"".join(bytes.fromhex(v) for v in values)
    return np.frombuffer(packed, dtype=np.uint8).reshape(-1, BITS // 8)


def is_phash(value: str) -> bool:
    return len(value) == BITS // 4 and all(c in "0123456789abcdefABCDEF" for c in value)


class PhashIndex:
    """Stored pHashes (by `media_hashes` row id), searchable by Hamming distance."""

    def __init__(self) -> None:
        self._faiss = _faiss()
        self._index: Any = self._faiss.IndexBinaryMultiHash(BITS, BANDS, BAND_BITS)
        self._ids: list[int] = []  # the index's position -> media_hashes row id
        self._seen: dict[int, str] = {}  # row id -> the value indexed for it
        self.cursor = 0
        self.built = time.monotonic()
        self.looked_back = self.built
        self.lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, rows: Sequence[tuple[int, str]]) -> None:
        """Index `(row id, hex pHash)` pairs. Rows already indexed with that value are skipped;
        a row id seen with another value (SQLite reuses the ids of deleted newest rows) is
        indexed again: the stale entry only yields a candidate the table then disproves."""
        fresh = [(i, v) for i, v in rows if self._seen.get(i) != v and is_phash(v)]
        if not fresh:
            return
        self._index.add(codes(v for _, v in fresh))
        self._ids += [i for i, _ in fresh]
        self._seen.update(fresh)
        self.cursor = max(self.cursor, max(i for i, _ in fresh))

    def near(self, phashes: Iterable[str], max_distance: int,
             limit: int = MAX_CANDIDATES) -> list[int]:
        """Row ids of indexed hashes within `max_distance` bits of any of `phashes`, closest
        first (at most `limit`)."""
        wanted = [p for p in phashes if is_phash(p)]
        if not wanted or not self._ids:
            return []
        self._index.nflip = max_distance // BANDS  # the pigeonhole bound above
        limits, distances, positions = self._index.range_search(codes(wanted),
                                                                max_distance + 1)
        best: dict[int, int] = {}
        for distance, position in zip(distances[: limits[-1]], positions[: limits[-1]],
                                      strict=True):
            row = self._ids[int(position)]
            best[row] = min(int(distance), best.get(row, BITS))
        return sorted(best, key=lambda r: (best[r], r))[:limit]

    async def follow(self, session: AsyncSession) -> None:
        """Add the item and cluster hashes stored since the last call."""
        back = 0
        if time.monotonic() - self.looked_back > OVERLAP_SECONDS:
            back, self.looked_back = OVERLAP, time.monotonic()
        while True:
            query = (select(MediaHash.id, MediaHash.value)
                     .where(MediaHash.algorithm == HashAlgorithm.PHASH,
                            MediaHash.id > max(self.cursor - back, 0),
                            or_(MediaHash.knowledge_item_id.is_not(None),
                                MediaHash.cluster_id.is_not(None)))
                     .order_by(MediaHash.id).limit(READ_BATCH))
            rows = [(int(i), str(v)) for i, v in (await session.execute(query)).all()]
            before = self.cursor
            self.add(rows)
            back = 0
            if len(rows) < READ_BATCH or self.cursor == before:
                return


_INDEXES: weakref.WeakKeyDictionary[Database, PhashIndex] = weakref.WeakKeyDictionary()


async def index_for(db: Database, session: AsyncSession) -> PhashIndex:
    """This process's index of `db`'s hashes, brought up to date through the caller's
    `session` (rebuilt when old). The caller's, because on SQLite a second transaction would
    wait for the caller's write lock; a row it has not committed yet may be indexed, which
    costs nothing (candidates are read back from the table) and heals at the next rebuild."""
    index = _INDEXES.get(db)
    if index is None or time.monotonic() - index.built > REBUILD_SECONDS:
        index = _INDEXES[db] = PhashIndex()
    async with index.lock:
        await index.follow(session)
    return index
