"""Matching indexes that follow database tables: the knowledge base, and open clusters.

Each index keeps a (updated_at, id) cursor and pulls only what changed since, so adding,
editing or retiring an item costs one incremental upsert, and several processes sharing one
database converge by calling `refresh` (on a timer, and right after their own writes).
Vectors computed here are written back beside the row, so a restart does not re-embed.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import OPEN_STATUSES, Cluster, ItemStatus, KnowledgeItem
from matching import Candidate, Decision, IndexItem, MatchingEngine, normalise_text

BATCH = 2000
DECISION_CACHE_SIZE = 10_000
ITEM_CACHE_SIZE = 2000
QUERY_VECTOR_CACHE_SIZE = 256


def vector_from_bytes(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class SyncedIndex:
    """A MatchingEngine kept in step with one table; subclasses say which rows and fields."""

    model: Any = None

    def __init__(self, db: Database, engine: MatchingEngine) -> None:
        self.db = db
        self.engine = engine
        self._cursor: tuple[datetime, int] | None = None
        self._lock = asyncio.Lock()
        self._decisions: OrderedDict[tuple[str, str | None], Decision] = OrderedDict()
        self._generation = 0  # bumped on every change: what was read before one is not kept

    def is_live(self, row: Any) -> bool:
        raise NotImplementedError

    def _changed(self) -> None:
        """Rows changed: forget what was remembered about them."""

    def to_item(self, row: Any, vector: np.ndarray | None) -> IndexItem:
        raise NotImplementedError

    async def refresh(self) -> int:
        """Apply every change since the last call; returns how many rows were looked at."""
        async with self._lock:
            seen = 0
            while True:
                rows = await self._changed_rows()
                if not rows:
                    return seen
                await self._apply(rows)
                self._decisions.clear()
                self._generation += 1
                self._changed()
                seen += len(rows)
                self._cursor = (rows[-1].updated_at, rows[-1].id)

    async def _changed_rows(self) -> list[Any]:
        model = self.model
        query = select(model).order_by(model.updated_at, model.id).limit(BATCH)
        if self._cursor is not None:
            stamp, last_id = self._cursor
            query = query.where(
                (model.updated_at > stamp) | ((model.updated_at == stamp) & (model.id > last_id))
            )
        async with self.db.session() as session:
            return list((await session.scalars(query)).all())

    async def _apply(self, rows: Sequence[Any]) -> None:
        name = self.engine.embedder_name
        live = [r for r in rows if self.is_live(r)]
        dead = [str(r.id) for r in rows if not self.is_live(r)]
        items = [
            self.to_item(r, vector_from_bytes(r.embedding) if r.embedding_model == name else None)
            for r in live
        ]
        if dead:
            await asyncio.to_thread(self.engine.remove, dead)
        computed = await asyncio.to_thread(self.engine.upsert, items) if items else {}
        if computed:
            await self._store_vectors(computed, name)

    async def _store_vectors(self, vectors: dict[str, np.ndarray], name: str) -> None:
        """Write vectors back in one executemany, without touching `updated_at` (that would
        re-trigger a refresh)."""
        table = self.model.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                embedding=bindparam("vector"), embedding_model=name, updated_at=table.c.updated_at
            )
        )
        rows = [
            {"row_id": int(item_id), "vector": vector_to_bytes(vector)}
            for item_id, vector in vectors.items()
        ]
        async with self.db.session() as session:
            await session.execute(statement, rows)

    async def decide(self, text: str, language: str | None = None) -> Decision:
        """The engine's decision, remembered per normalised text until the index changes.

        A viral rumour arrives thousands of times with the same words; only the first costs
        an embedding.
        """
        key = (normalise_text(text), language)
        cached = self._decisions.get(key)
        if cached is not None:
            self._decisions.move_to_end(key)
            return cached
        generation = self._generation
        decision = await asyncio.to_thread(self._decide_now, text, language)
        if generation != self._generation:  # the index changed meanwhile
            return decision
        self._decisions[key] = decision
        if len(self._decisions) > DECISION_CACHE_SIZE:
            self._decisions.popitem(last=False)
        return decision

    async def search(self, text: str, k: int = 10) -> list[Candidate]:
        return await asyncio.to_thread(self._search_now, text, k)

    def _search_now(self, text: str, k: int, language: str | None = None) -> list[Candidate]:
        """`engine.search`, with the query's vector shared with the other index."""
        vector = _query_vectors.get(self.engine, text)
        return self.engine.search_with_vector(text, vector, k=k, lang=language)

    def _decide_now(self, text: str, language: str | None) -> Decision:
        """`engine.decide`, with the query's vector shared with the other index."""
        return self.engine.decide_from(text, self._search_now(text, 10, language))

    def __len__(self) -> int:
        return len(self.engine)


class KnowledgeIndex(SyncedIndex):
    """Active fact-checks and statements."""

    model = KnowledgeItem

    def __init__(self, db: Database, engine: MatchingEngine) -> None:
        super().__init__(db, engine)
        self._items: OrderedDict[int, KnowledgeItem] = OrderedDict()

    def is_live(self, row: KnowledgeItem) -> bool:
        return row.status == ItemStatus.ACTIVE

    def _changed(self) -> None:
        self._items.clear()

    async def active_items(self, session: AsyncSession, ids: Sequence[int]) -> list[KnowledgeItem]:
        """The active items among `ids`, in that order.

        Remembered (detached, read-only) until the index changes, like decisions: the same few
        fact-checks answer a viral afternoon's forwards, and each would cost a query.
        """
        known = {i: self._items[i] for i in ids if i in self._items}
        missing = [i for i in ids if i not in known]
        if missing:
            generation = self._generation
            query = select(KnowledgeItem).where(
                KnowledgeItem.id.in_(missing), KnowledgeItem.status == ItemStatus.ACTIVE
            )
            loaded = {row.id: _detached_copy(row) for row in (await session.scalars(query))}
            known |= loaded
            if generation == self._generation:
                self._items.update(loaded)
                while len(self._items) > ITEM_CACHE_SIZE:
                    self._items.popitem(last=False)
        for i in known:
            if i in self._items:
                self._items.move_to_end(i)
        return [known[i] for i in ids if i in known]

    def to_item(self, row: KnowledgeItem, vector: np.ndarray | None) -> IndexItem:
        return IndexItem(
            id=str(row.id), text=row.claim, url=row.source_url, lang=row.language, vector=vector
        )


class QueryVectors:
    """The last query vectors embedded in this process, by (embedder, text); thread-safe.

    A message is looked up in the knowledge base and, when it goes to the city's team, in the
    open clusters: two engines sharing one embedder, and each search would embed the same text
    again. A viral rumour nobody has answered yet is forwarded thousands of times and goes to
    the clusters every time: its decision is remembered, this saves the other embedding.
    """

    def __init__(self, size: int = QUERY_VECTOR_CACHE_SIZE) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, engine: MatchingEngine, text: str) -> np.ndarray | None:
        key = (engine.embedder_name, text)
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        vector = engine.query_vector(text)
        if vector is not None:
            vector.setflags(write=False)  # shared: nobody may change it
        with self._lock:
            self._vectors[key] = vector
            if len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector


_query_vectors = QueryVectors()


def _detached_copy(item: KnowledgeItem) -> KnowledgeItem:
    """A copy no session will ever hold (a rollback there cannot expire it), without the
    vector."""
    columns = sa_inspect(KnowledgeItem).column_attrs
    return KnowledgeItem(**{c.key: getattr(item, c.key) for c in columns if c.key != "embedding"})


class ClusterIndex(SyncedIndex):
    """Open clusters of unanswered questions, to group a new question with similar ones."""

    model = Cluster

    def is_live(self, row: Cluster) -> bool:
        return row.status in OPEN_STATUSES

    def to_item(self, row: Cluster, vector: np.ndarray | None) -> IndexItem:
        return IndexItem(id=str(row.id), text=row.representative_text, vector=vector)
