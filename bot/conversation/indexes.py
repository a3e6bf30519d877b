"""Matching indexes that follow database tables: the knowledge base, and open clusters.

Each index keeps a (updated_at, id) cursor and pulls only what changed since, so adding,
editing or retiring an item costs one incremental upsert, and several processes sharing one
database converge by calling `refresh` (on a timer, and right after their own writes).
Vectors computed here are written back beside the row, so a restart does not re-embed.
A cursor cannot see a deleted row (`rumourbot demo remove` in another process, a cluster
emptied by its last asker), so the periodic refresh also compares how many live rows the table
has with how many the index holds, and drops those gone (`forget_deleted`).

The knowledge index holds *views* of each active item (see :mod:`matching.engine`): its claim,
each stored translation of the claim, and its confirmed variants (message texts it is known to
answer, :mod:`domain.variants`), which follow their own cursor so a confirmation costs one upsert.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from cachetools import LRUCache
from redis.asyncio import Redis
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import (
    OPEN_STATUSES,
    Answer,
    Cluster,
    ItemStatus,
    KnowledgeItem,
    KnowledgeVariant,
    VariantStatus,
)
from matching.engine import Candidate, Decision, IndexItem, MatchingEngine, MatchKind, Outcome
from matching.normalise import normalise_text

log = logging.getLogger(__name__)
BATCH = 2000
DECISION_CACHE_SIZE = 10_000  # RUMOURBOT_DECISION_CACHE_SIZE
ITEM_CACHE_SIZE = 2000
QUERY_VECTOR_CACHE_SIZE = 256


def vector_from_bytes(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def translation_views(item: KnowledgeItem) -> list[tuple[str, str]]:
    """(language, claim) of every stored translation whose claim is not the original's."""
    out = []
    for language, fields in sorted((item.translations or {}).items()):
        claim = str((fields or {}).get("claim") or "").strip() if isinstance(fields, dict) else ""
        if claim and claim != item.claim.strip():
            out.append((str(language)[:10], claim[:5000]))
    return out


def _views_digest(views: Sequence[tuple[str, str]], embedder: str) -> bytes:
    digest = hashlib.sha1(embedder.encode(), usedforsecurity=False)
    for language, text in views:
        digest.update(f"\x00{language}\x01{text}".encode("utf-8", "surrogatepass"))
    return digest.digest()


def pack_view_vectors(
    views: Sequence[tuple[str, str]], vectors: Sequence[np.ndarray], embedder: str
) -> bytes:
    """The translations' vectors in one blob, led by a digest of what they embed: a changed
    translation or embedder makes the blob stale by itself."""
    body = b"".join(vector_to_bytes(v) for v in vectors)
    return _views_digest(views, embedder) + body


def unpack_view_vectors(
    blob: bytes | None, views: Sequence[tuple[str, str]], embedder: str
) -> list[np.ndarray | None]:
    if not blob or not views or blob[:20] != _views_digest(views, embedder):
        return [None] * len(views)
    body = np.frombuffer(blob[20:], dtype=np.float32)
    if len(body) % len(views):
        return [None] * len(views)
    return list(body.reshape(len(views), -1))


@dataclass
class TableCursor:
    """How far an index has read one table: rows come in (updated_at, id) order, and `at` is
    the last one applied (None: none yet)."""

    model: Any
    at: tuple[datetime, int] | None = None

    async def next_rows(self, db: Database) -> list[Any]:
        """Up to BATCH rows changed after `at`."""
        model = self.model
        query = select(model).order_by(model.updated_at, model.id).limit(BATCH)
        if self.at is not None:
            stamp, last_id = self.at
            query = query.where(
                (model.updated_at > stamp) | ((model.updated_at == stamp) & (model.id > last_id))
            )
        async with db.session() as session:
            return list((await session.scalars(query)).all())


class SyncedIndex:
    """A MatchingEngine kept in step with one table; subclasses say which rows and fields."""

    model: Any = None

    def __init__(self, db: Database, engine: MatchingEngine) -> None:
        self.db = db
        self.engine = engine
        self._rows = TableCursor(self.model)
        self._tables = [self._rows]  # every table the index follows: its version names each
        self._lock = asyncio.Lock()
        self._decisions: LRUCache[tuple[str, str | None], Decision] = LRUCache(DECISION_CACHE_SIZE)
        self._remembers = True
        self._shared: SharedDecisions | None = None
        self._generation = 0  # bumped on every change: what was read before one is not kept

    def configure_decisions(
        self, size: int, redis: Redis | None = None, seconds: float = 0.0
    ) -> None:
        """Remember up to `size` decisions here (0: none) and, with Redis and `seconds` > 0,
        share them with every process whose index is at the same point of the table."""
        self._remembers = size > 0
        self._decisions = LRUCache(max(1, size))
        self._shared = (
            SharedDecisions(redis, seconds, max(1, size))
            if redis is not None and seconds > 0 and size > 0
            else None
        )

    def _version(self) -> str:
        """What this index holds, as every process can name it: the table cursors it has
        reached, the embedder and the thresholds. Processes at the same version decide alike."""
        parts = (
            type(self).__name__,
            self.engine.embedder_name,
            repr(self.engine.thresholds),
            str(len(self.engine)),  # rows deleted since: the cursors alone do not say
            *(repr(table.at) for table in self._tables),
        )
        return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()

    def is_live(self, row: Any) -> bool:
        raise NotImplementedError

    def live_rows(self) -> Any:
        """`is_live` as a WHERE clause."""
        raise NotImplementedError

    async def forget_deleted(self) -> int:
        """Drop what was deleted from the table since it was read; returns how many answers
        went. One count when nothing was (a row added meanwhile can hide a deletion until the
        next call, after the cursor has read it)."""
        async with self._lock:
            held = len(self.engine)
            async with self.db.session() as session:
                live = select(self.model.id).where(self.live_rows())
                count = select(func.count()).select_from(live.subquery())
                if (await session.scalar(count) or 0) >= held:
                    return 0
                present = {str(i) for i in (await session.scalars(live)).all()}
            gone = [a for a in self.engine.answer_ids() if a not in present]
            if gone:
                await asyncio.to_thread(self.engine.remove_answers, gone)
                self._changed()
            return len(gone)

    def _changed(self) -> None:
        """What was read before a change is not kept."""
        self._decisions.clear()
        self._generation += 1

    def to_item(self, row: Any, vector: np.ndarray | None) -> IndexItem:
        raise NotImplementedError

    async def refresh(self) -> int:
        """Apply every change since the last call; returns how many rows were looked at."""
        async with self._lock:
            return await self._follow(self._rows, self._apply)

    async def _follow(
        self, table: TableCursor, apply: Callable[[Sequence[Any]], Awaitable[None]]
    ) -> int:
        """`apply` every batch of `table`'s rows changed since it was last read, forgetting the
        decisions after each; returns how many rows were looked at."""
        seen = 0
        while rows := await table.next_rows(self.db):
            await apply(rows)
            self._changed()
            seen += len(rows)
            table.at = (rows[-1].updated_at, rows[-1].id)
        return seen

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

    async def _store_vectors(
        self, vectors: dict[str, np.ndarray], name: str, model: Any = None
    ) -> None:
        """Write vectors back in one executemany, without touching `updated_at` (that would
        re-trigger a refresh)."""
        rows = [
            {"row_id": int(row_id), "blob": vector_to_bytes(vector)}
            for row_id, vector in vectors.items()
        ]
        await self._store_blobs(model or self.model, rows, embedding_model=name)

    async def _store_blobs(self, model: Any, rows: list[dict[str, Any]], **values: Any) -> None:
        """`embedding` (or the column named by `column`) = each row's blob, one executemany."""
        if not rows:
            return
        table = model.__table__
        column = values.pop("column", "embedding")
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({column: bindparam("blob"), "updated_at": table.c.updated_at, **values})
        )
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
            return cached
        generation = self._generation
        shared, version, field = self._shared, "", ""
        if shared is not None:  # another process may have decided it already
            version, field = self._version(), SharedDecisions.field(key)
            found = await shared.get(version, field)
            if found is not None:
                if generation == self._generation and self._remembers:
                    self._decisions[key] = found
                return found
        decision = await asyncio.to_thread(self._decide_now, text, language)
        if generation == self._generation:  # else the index changed meanwhile
            if self._remembers:
                self._decisions[key] = decision
            if shared is not None:
                await shared.put(version, field, decision)
        return decision

    async def search(self, text: str, k: int = 10) -> list[Candidate]:
        return await asyncio.to_thread(self._search_now, text, k)

    def _search_now(self, text: str, k: int, language: str | None = None) -> list[Candidate]:
        """`engine.search`, with the query's vector shared with the other index."""
        vector = _query_vectors.get(self.engine, text)
        return self.engine.search_with_vector(text, vector, k=k, lang=language)

    def _decide_now(self, text: str, language: str | None) -> Decision:
        """`engine.decide`, with the query's vector shared with the other index."""
        return self.engine.decide_from(text, self._search_now(text, 10, language), language)

    def __len__(self) -> int:
        return len(self.engine)


class KnowledgeIndex(SyncedIndex):
    """Active fact-checks and statements, each with its translations and confirmed variants."""

    model = KnowledgeItem

    def __init__(self, db: Database, engine: MatchingEngine) -> None:
        super().__init__(db, engine)
        self._items: LRUCache[int, KnowledgeItem] = LRUCache(ITEM_CACHE_SIZE)
        # item id -> its latest published answer (None: none); emptied by every refresh
        self._answer_ids: LRUCache[int, int | None] = LRUCache(ITEM_CACHE_SIZE)
        self._variants = TableCursor(KnowledgeVariant)
        self._tables.append(self._variants)

    def configure_items(self, size: int) -> None:
        """Keep up to `size` knowledge items read for answers (RUMOURBOT_ITEM_CACHE_SIZE)."""
        self._items = LRUCache(max(1, size))

    def is_live(self, row: KnowledgeItem) -> bool:
        return row.status == ItemStatus.ACTIVE

    def live_rows(self) -> Any:
        return KnowledgeItem.status == ItemStatus.ACTIVE

    def _changed(self) -> None:
        super()._changed()
        self._items.clear()
        self._answer_ids.clear()

    async def refresh(self) -> int:
        """Items first (a variant needs its item indexed), then variants.

        Published answers are looked up again after every refresh (the periodic one too): an
        answer can be published for an item that did not change."""
        self._answer_ids.clear()
        seen = await super().refresh()
        async with self._lock:
            return seen + await self._follow(self._variants, self._apply_variants)

    async def _apply(self, rows: Sequence[Any]) -> None:
        name = self.engine.embedder_name
        dead = [str(r.id) for r in rows if not self.is_live(r)]
        live: list[KnowledgeItem] = [r for r in rows if self.is_live(r)]
        if dead:
            await asyncio.to_thread(self.engine.remove_answers, dead)
        arriving = [r.id for r in live if not self.engine.views_of(str(r.id))]
        items: list[IndexItem] = []
        stale: list[str] = []
        views_of: dict[int, list[tuple[str, str]]] = {}
        for row in live:
            claim_vector = vector_from_bytes(row.embedding) if row.embedding_model == name else None
            items.append(self.to_item(row, claim_vector))
            views = views_of[row.id] = translation_views(row)
            stored = unpack_view_vectors(row.view_embeddings, views, name)
            for (language, text), vector in zip(views, stored, strict=True):
                items.append(
                    IndexItem(
                        f"{row.id}:{language}",
                        text,
                        lang=language,
                        vector=vector,
                        answers=str(row.id),
                    )
                )
            keep = {f"{row.id}:{language}" for language, _ in views}
            prefix = f"{row.id}:"
            stale += [
                v
                for v in self.engine.views_of(str(row.id))
                if v.startswith(prefix) and v not in keep
            ]
        if stale:
            await asyncio.to_thread(self.engine.remove, stale)
        computed = await asyncio.to_thread(self.engine.upsert, items) if items else {}
        claims = {k: v for k, v in computed.items() if ":" not in k}
        if claims:
            await self._store_vectors(claims, name)
        await self._store_view_vectors(views_of, computed, name)
        if arriving:
            await self._load_variants(arriving)
        self._items.clear()  # the items read for answers may be older copies of these rows

    async def _store_view_vectors(
        self, views_of: dict[int, list[tuple[str, str]]], computed: dict[str, np.ndarray], name: str
    ) -> None:
        rows = []
        for item_id, views in views_of.items():
            ids = [f"{item_id}:{language}" for language, _ in views]
            if not any(i in computed for i in ids):
                continue
            held = self.engine.vectors_of(ids)
            if len(held) == len(ids):
                vectors = [held[i] for i in ids]
                rows.append({"row_id": item_id, "blob": pack_view_vectors(views, vectors, name)})
        await self._store_blobs(KnowledgeItem, rows, column="view_embeddings")

    async def _load_variants(self, item_ids: Sequence[int]) -> None:
        """A new or restored item brings back its confirmed variants."""
        query = select(KnowledgeVariant).where(
            KnowledgeVariant.item_id.in_(list(item_ids)),
            KnowledgeVariant.status == VariantStatus.CONFIRMED,
        )
        async with self.db.session() as session:
            rows = list((await session.scalars(query)).all())
        if rows:
            await self._apply_variants(rows)

    async def _apply_variants(self, rows: Sequence[KnowledgeVariant]) -> None:
        name = self.engine.embedder_name

        def live(v: KnowledgeVariant) -> bool:
            return v.status == VariantStatus.CONFIRMED and bool(
                self.engine.views_of(str(v.item_id))
            )

        dead = [f"v{v.id}" for v in rows if not live(v)]
        items = [
            IndexItem(
                f"v{v.id}",
                v.text,
                lang=v.language,
                vector=vector_from_bytes(v.embedding) if v.embedding_model == name else None,
                answers=str(v.item_id),
            )
            for v in rows
            if live(v)
        ]
        if dead:
            await asyncio.to_thread(self.engine.remove, dead)
        computed = await asyncio.to_thread(self.engine.upsert, items) if items else {}
        if computed:
            vectors = {k[1:]: v for k, v in computed.items()}
            await self._store_vectors(vectors, name, KnowledgeVariant)

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
        return [known[i] for i in ids if i in known]

    async def published_answer_id(self, session: AsyncSession, item_id: int) -> int | None:
        """The latest published answer of `item_id` (its share card), or None; remembered
        until the next refresh (at most `index_refresh_seconds`): every answered forward
        would otherwise cost a query."""
        if item_id in self._answer_ids:
            return self._answer_ids[item_id]
        generation = self._generation
        found: int | None = await session.scalar(
            select(Answer.id)
            .where(Answer.knowledge_item_id == item_id, Answer.published_at.is_not(None))
            .order_by(Answer.id.desc())
            .limit(1)
        )
        if generation == self._generation:
            self._answer_ids[item_id] = found
        return found

    def to_item(self, row: KnowledgeItem, vector: np.ndarray | None) -> IndexItem:
        return IndexItem(
            id=str(row.id), text=row.claim, url=row.source_url, lang=row.language, vector=vector
        )


class SharedDecisions:
    """Decisions shared by every process through Redis, per index version.

    One Redis hash per version (`rumourbot:decisions:<version>`, field: a digest of the
    normalised text and language): a process whose index is at the same point of the table
    takes another's decision instead of embedding the text again. Bounded: at most `limit`
    fields per version (checked in the same script that writes), and each version expires
    `seconds` after its last write, so a knowledge-base change leaves the old set to expire.
    Best effort: when Redis is away the process decides on its own.
    """

    PREFIX = "rumourbot:decisions:"
    # HSET only while the hash is under its limit; then refresh its expiry
    _PUT = (
        "if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[1]) then "
        "redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end "
        "redis.call('EXPIRE', KEYS[1], ARGV[4]) return 1"
    )

    def __init__(self, redis: Redis, seconds: float, limit: int) -> None:
        self.redis = redis
        self.seconds = max(1, int(seconds))
        self.limit = limit

    @staticmethod
    def field(key: tuple[str, str | None]) -> str:
        text, language = key
        raw = f"{language or ''}\x00{text}".encode("utf-8", "surrogatepass")
        return hashlib.sha1(raw, usedforsecurity=False).hexdigest()

    async def get(self, version: str, field: str) -> Decision | None:
        try:
            raw = await self.redis.hget(self.PREFIX + version, field)
            return decode_decision(raw) if raw else None
        except Exception as exc:  # Redis away, or a value we cannot read: decide here
            log.debug("shared decision not read (%s)", type(exc).__name__)
            return None

    async def put(self, version: str, field: str, decision: Decision) -> None:
        try:
            await self.redis.eval(
                self._PUT, 1, self.PREFIX + version, self.limit, field,
                encode_decision(decision), self.seconds,
            )
        except Exception as exc:
            log.debug("shared decision not written (%s)", type(exc).__name__)


def encode_decision(decision: Decision) -> str:
    return json.dumps({
        "o": decision.outcome.value,
        "f": decision.confidence,
        "c": [[c.id, c.score, c.view, c.match.value, c.lang, c.agrees, c.cover]
              for c in decision.candidates],
    }, separators=(",", ":"))


def decode_decision(raw: bytes | str) -> Decision:
    data = json.loads(raw)
    return Decision(
        Outcome(data["o"]),
        [Candidate(str(c[0]), float(c[1]), str(c[2]), MatchKind(c[3]), c[4], bool(c[5]),
                   float(c[6]) if len(c) > 6 else 0.0)  # written before coverage was kept
         for c in data["c"]],
        float(data["f"]),
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
        self._vectors: LRUCache[tuple[str, str], np.ndarray | None] = LRUCache(size)
        self._lock = threading.Lock()

    def get(self, engine: MatchingEngine, text: str) -> np.ndarray | None:
        key = (engine.embedder_name, text)
        with self._lock:
            if key in self._vectors:
                return self._vectors[key]
        vector = engine.query_vector(text)
        if vector is not None:
            vector.setflags(write=False)  # shared: nobody may change it
        with self._lock:
            self._vectors[key] = vector
        return vector


_query_vectors = QueryVectors()


def configure_query_vectors(size: int) -> None:
    """Keep up to `size` query vectors in this process (RUMOURBOT_QUERY_VECTOR_CACHE_SIZE)."""
    global _query_vectors  # noqa: PLW0603 - one cache per process, sized at start-up
    _query_vectors = QueryVectors(max(1, size))


def _detached_copy(item: KnowledgeItem) -> KnowledgeItem:
    """A copy no session will ever hold (a rollback there cannot expire it), without the
    vector."""
    columns = sa_inspect(KnowledgeItem).column_attrs
    skip = {"embedding", "view_embeddings"}
    return KnowledgeItem(**{c.key: getattr(item, c.key) for c in columns if c.key not in skip})


class ClusterIndex(SyncedIndex):
    """Open clusters of unanswered questions, to group a new question with similar ones."""

    model = Cluster

    def is_live(self, row: Cluster) -> bool:
        return row.status in OPEN_STATUSES

    def live_rows(self) -> Any:
        return Cluster.status.in_(OPEN_STATUSES)

    def to_item(self, row: Cluster, vector: np.ndarray | None) -> IndexItem:
        return IndexItem(id=str(row.id), text=row.representative_text, vector=vector)

    async def search(self, text: str, k: int = 10) -> list[Candidate]:
        """Open clusters like `text`; one whose text `text` duplicates (the same words, or a
        near-duplicate) comes first with full confidence: a forward of it belongs there."""
        found = await super().search(text, k)
        return sorted(
            (replace(c, score=1.0) if c.match in _DUPLICATE else c for c in found),
            key=lambda c: -c.score,
        )


_DUPLICATE = (MatchKind.EXACT, MatchKind.NEAR)
