"""An incremental BM25 index in numpy (Lucene-style segments).

bm25s scores fast but cannot add a document without a full rebuild, and a knowledge base changes
one fact-check at a time. So postings live in immutable *segments* (term-sorted arrays with an
``indptr`` per term) plus a small append-only *delta*. Bulk loads become one segment; single
upserts go to the delta, which is frozen into a segment when it grows; segments are merged when
there are too many. Removal clears the document's ``alive`` bit and takes its terms out of the
document frequencies at once (each document keeps its term ids for that), so scores after a
removal are those of an index that never held the document; merging then drops dead postings.
Lucene instead counts dead documents in df until a merge: retiring and restoring fact-checks
would then change every other message's scores.

Documents are addressed by *slot* (an int the engine owns); slots are never reused until
:meth:`LexicalIndex.compact` renumbers them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LexicalHits", "LexicalIndex"]

_DELTA_MAX_POSTINGS = 50_000
_MAX_SEGMENTS = 6


@dataclass(frozen=True)
class LexicalHits:
    """Per matching document: BM25, summed idf of the query terms it contains, their count."""

    slots: np.ndarray
    bm25: np.ndarray
    matched_idf: np.ndarray
    matched_terms: np.ndarray

    @staticmethod
    def empty() -> LexicalHits:
        z = np.zeros(0, np.float32)
        return LexicalHits(np.zeros(0, np.int64), z, z, z)


@dataclass
class _Segment:
    indptr: np.ndarray  # int64, len = vocabulary size at build time + 1
    slots: np.ndarray  # int32
    tfs: np.ndarray  # float32

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.indptr):
            return _EMPTY_I, _EMPTY_F
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.slots[lo:hi], self.tfs[lo:hi]


_EMPTY_I = np.zeros(0, np.int32)
_EMPTY_F = np.zeros(0, np.float32)


def _grow(arr: np.ndarray, size: int) -> np.ndarray:
    if size <= len(arr):
        return arr
    out = np.zeros(max(size, 2 * len(arr), 1024), dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _build_segment(terms: np.ndarray, slots: np.ndarray, tfs: np.ndarray, vocab: int) -> _Segment:
    order = np.argsort(terms, kind="stable")
    counts = np.bincount(terms, minlength=vocab)
    indptr = np.zeros(vocab + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return _Segment(indptr, slots[order].astype(np.int32), tfs[order].astype(np.float32))


class LexicalIndex:
    """BM25 (Lucene idf, ``k1``, ``b``) over pre-tokenised documents addressed by slot."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        self._df = np.zeros(1024, dtype=np.int32)
        self._doc_len = np.zeros(1024, dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._n_slots = 0
        self._n_alive = 0
        self._total_len = 0.0
        self._segments: list[_Segment] = []
        self._d_terms: list[int] = []
        self._d_slots: list[int] = []
        self._d_tfs: list[float] = []
        self._doc_terms: dict[int, np.ndarray] = {}  # slot -> its term ids (for removal)

    def __len__(self) -> int:
        return self._n_alive

    @property
    def n_slots(self) -> int:
        return self._n_slots

    def _term_ids(self, counter: Counter[str], create: bool) -> list[tuple[int, int]]:
        out = []
        for term, tf in counter.items():
            tid = self._vocab.get(term)
            if tid is None:
                if not create:
                    continue
                tid = self._vocab[term] = len(self._vocab)
            out.append((tid, tf))
        return out

    def add(self, slots: Sequence[int], docs: Sequence[Sequence[str]]) -> None:
        """Index ``docs[i]`` (a token list) at ``slots[i]``; slots must be new or removed."""
        if not slots:
            return
        top = max(slots) + 1
        self._doc_len = _grow(self._doc_len, top)
        self._alive = _grow(self._alive, top)
        self._n_slots = max(self._n_slots, top)
        terms: list[int] = []
        slot_list: list[int] = []
        tfs: list[float] = []
        for slot, tokens in zip(slots, docs, strict=True):
            pairs = self._term_ids(Counter(tokens), create=True)
            self._doc_terms[slot] = np.fromiter((t for t, _ in pairs), np.int64, len(pairs))
            terms.extend(t for t, _ in pairs)
            slot_list.extend([slot] * len(pairs))
            tfs.extend(float(f) for _, f in pairs)
            self._doc_len[slot] = len(tokens)
            self._total_len += len(tokens)
            self._alive[slot] = True
            self._n_alive += 1
        self._df = _grow(self._df, len(self._vocab))
        if terms:
            np.add.at(self._df, np.asarray(terms, dtype=np.int64), 1)
        if len(terms) > _DELTA_MAX_POSTINGS // 4:
            self._segments.append(
                _build_segment(
                    np.asarray(terms, np.int64),
                    np.asarray(slot_list),
                    np.asarray(tfs),
                    len(self._vocab),
                )
            )
        else:
            self._d_terms.extend(terms)
            self._d_slots.extend(slot_list)
            self._d_tfs.extend(tfs)
            if len(self._d_terms) > _DELTA_MAX_POSTINGS:
                self._freeze_delta()
        if len(self._segments) > _MAX_SEGMENTS:
            self.merge()

    def remove(self, slots: Sequence[int]) -> None:
        for slot in slots:
            if 0 <= slot < self._n_slots and self._alive[slot]:
                self._alive[slot] = False
                self._n_alive -= 1
                self._total_len -= float(self._doc_len[slot])
                own = self._doc_terms.pop(slot, None)
                if own is not None and len(own):
                    np.subtract.at(self._df, own, 1)

    def _freeze_delta(self) -> None:
        if self._d_terms:
            self._segments.append(
                _build_segment(
                    np.asarray(self._d_terms, np.int64),
                    np.asarray(self._d_slots),
                    np.asarray(self._d_tfs),
                    len(self._vocab),
                )
            )
        self._d_terms, self._d_slots, self._d_tfs = [], [], []

    def _all_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        terms, slots, tfs = [], [], []
        for seg in self._segments:
            counts = np.diff(seg.indptr)
            terms.append(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
            slots.append(seg.slots)
            tfs.append(seg.tfs)
        terms.append(np.asarray(self._d_terms, np.int64))
        slots.append(np.asarray(self._d_slots, np.int32))
        tfs.append(np.asarray(self._d_tfs, np.float32))
        return np.concatenate(terms), np.concatenate(slots), np.concatenate(tfs)

    def merge(self, remap: np.ndarray | None = None) -> None:
        """One segment, no dead postings, exact df; ``remap`` (old slot -> new) renumbers slots."""
        terms, slots, tfs = self._all_postings()
        keep = self._alive[slots]
        terms, slots, tfs = terms[keep], slots[keep], tfs[keep]
        if remap is not None:
            slots = remap[slots]
        self._df = np.bincount(terms, minlength=len(self._df)).astype(np.int32)
        self._segments = [_build_segment(terms, slots, tfs, len(self._vocab))] if len(terms) else []
        self._d_terms, self._d_slots, self._d_tfs = [], [], []

    def compact(self, remap: np.ndarray, new_n_slots: int) -> None:
        """Renumber live slots with ``remap`` (dead slots are dropped)."""
        live = np.flatnonzero(self._alive[: self._n_slots])
        self.merge(remap)
        doc_len = np.zeros(max(new_n_slots, 1024), np.float32)
        doc_len[remap[live]] = self._doc_len[live]
        alive = np.zeros(len(doc_len), bool)
        alive[remap[live]] = True
        self._doc_len, self._alive, self._n_slots = doc_len, alive, new_n_slots
        self._doc_terms = {int(remap[s]): t for s, t in self._doc_terms.items() if remap[s] >= 0}

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        n = max(self._n_alive, 1)
        df = np.array(
            [self._df[self._vocab[t]] if t in self._vocab else 0 for t in terms], dtype=np.float64
        )
        df = np.minimum(df, n)
        return np.log1p((n - df + 0.5) / (df + 0.5))

    def doc_len(self, slots: np.ndarray) -> np.ndarray:
        return np.asarray(self._doc_len[slots], dtype=np.float32)

    def query_idf(self, query: Sequence[str]) -> float:
        """Sum of idf over the query's terms (unknown terms count as the rarest possible)."""
        counts = Counter(query)
        return (
            float((self.idf(list(counts)) * np.array(list(counts.values()))).sum())
            if counts
            else 0.0
        )

    def scores(self, query: Sequence[str]) -> LexicalHits:
        """BM25 of every live document sharing a term with ``query``, plus match statistics."""
        if not self._n_alive:
            return LexicalHits.empty()
        pairs = self._term_ids(Counter(query), create=False)
        if not pairs:
            return LexicalHits.empty()
        n = self._n_alive
        avgdl = max(self._total_len / n, 1e-6)
        qterms = np.array([t for t, _ in pairs], dtype=np.int64)
        qtf = np.array([f for _, f in pairs], dtype=np.float64)
        df = np.minimum(self._df[qterms].astype(np.float64), n)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)) * qtf
        got_s, got_tf, got_idf = [], [], []
        d_terms = np.asarray(self._d_terms, np.int64) if self._d_terms else None
        for qi, term in enumerate(qterms):
            parts = [seg.postings(int(term)) for seg in self._segments]
            if d_terms is not None:
                hit = np.flatnonzero(d_terms == term)
                if len(hit):
                    parts.append(
                        (
                            np.asarray(self._d_slots, np.int32)[hit],
                            np.asarray(self._d_tfs, np.float32)[hit],
                        )
                    )
            for s, tf in parts:
                if len(s):
                    got_s.append(s)
                    got_tf.append(tf)
                    got_idf.append(np.full(len(s), idf[qi], np.float32))
        if not got_s:
            return LexicalHits.empty()
        slots = np.concatenate(got_s)
        tf = np.concatenate(got_tf)
        norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[slots] / avgdl)
        weight = np.concatenate(got_idf) * tf / (tf + norm)  # Lucene: no (k1+1)
        weight *= self._alive[slots]
        idf_each = np.concatenate(got_idf) * (weight > 0)
        if len(slots) * 8 > self._n_slots:
            total = np.bincount(slots, weights=weight, minlength=self._n_slots)
            matched = np.bincount(slots, weights=idf_each, minlength=self._n_slots)
            count = np.bincount(slots, weights=(weight > 0), minlength=self._n_slots)
            uniq = np.flatnonzero(total > 0)
            total, matched, count = total[uniq], matched[uniq], count[uniq]
        else:
            uniq, inverse = np.unique(slots, return_inverse=True)
            total = np.bincount(inverse, weights=weight)
            matched = np.bincount(inverse, weights=idf_each)
            count = np.bincount(inverse, weights=(weight > 0))
            live = total > 0
            uniq, total, matched, count = uniq[live], total[live], matched[live], count[live]
        return LexicalHits(
            uniq.astype(np.int64),
            total.astype(np.float32),
            matched.astype(np.float32),
            count.astype(np.float32),
        )
