"""Train the re-ranker on train splits and calibrate decision thresholds on dev splits.

Only train/dev data is read here; test splits are for reporting (and any train query whose text
also appears in a test split of another dataset is dropped, because the CLEF years re-use tweets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.datasets import Query, Target, read_qrels, read_queries, read_targets
from matching.embedders import Embedder
from matching.engine import Candidate, IndexItem, MatchingEngine, MatchKind
from matching.fields import passage_text, query_text
from matching.normalise import normalise_text
from matching.ranker import FEATURES, LogisticRanker
from matching.tokenise import content_words
from matching.twins import read_twin_list, twin_groups, with_twins
from matching.vcache import VectorCache

__all__ = [
    "Collected",
    "Seen",
    "Split",
    "calibrate",
    "collect",
    "cross_fitted",
    "fit",
    "fold_of",
    "test_texts",
    "trade_off",
]


@dataclass(frozen=True)
class Split:
    dataset: Path  # the dataset's canonical/ folder
    name: str  # train | dev | test | devtest2021 ...


@dataclass
class QueryRows:
    """Candidate features of one query, with the gold present and with it removed."""

    present_x: np.ndarray
    present_y: np.ndarray
    removed_x: np.ndarray


def test_texts(root: Path) -> set[str]:
    out: set[str] = set()
    for path in root.glob("*/canonical/*.queries.jsonl"):
        if path.name.split(".")[0] in ("test", "devtest2021"):
            out.update(normalise_text(q.text) for q in read_queries(path))
    return out


def _engine(
    targets: list[Target],
    embedder: Embedder | None,
    cache_dir: Path,
    ranker: LogisticRanker | None = None,
) -> MatchingEngine:
    engine = MatchingEngine(embedder, dense=embedder is not None, ranker=ranker)
    vecs = None
    if embedder is not None:
        vecs = VectorCache(cache_dir, embedder, "passage").get(
            [passage_text(t.claim, t.title) for t in targets]
        )
    engine.upsert(
        [
            IndexItem(t.id, t.claim, t.title, t.url, t.lang, None if vecs is None else vecs[i])
            for i, t in enumerate(targets)
        ]
    )
    return engine


@dataclass(frozen=True)
class Seen:
    """What the engine would show for one query: its top candidates, right or not (twins
    count as right), and whether the top one is a duplicate match (answered regardless)."""

    scores: tuple[float, ...]
    right: tuple[bool, ...]
    duplicate: bool
    words: int
    agrees: bool = True  # numbers and polarity of the top candidate agree with the message
    cover: float = 1.0  # share of the top candidate's terms found in the message


def _seen(cands: list[Candidate], gold: set[str], words: int) -> Seen:
    top = cands[:3]
    return Seen(
        tuple(c.score for c in top),
        tuple(c.id in gold for c in top),
        bool(top) and top[0].match in (MatchKind.EXACT, MatchKind.NEAR, MatchKind.URL),
        words,
        bool(top) and top[0].agrees,
        top[0].cover if top else 0.0,
    )


@dataclass
class Collected:
    query: Query
    rows: QueryRows
    present: Seen
    absent: Seen


def collect(
    split: Split,
    embedder: Embedder | None,
    cache_dir: Path,
    exclude: frozenset[str] | set[str] = frozenset(),
    ranker: LogisticRanker | None = None,
    only: set[str] | None = None,
) -> Iterator[Collected]:
    """For each labelled query (of ``only``, when given: query ids): feature rows (gold and its
    twins present, then removed) and what the engine shows in both cases."""
    targets = read_targets(split.dataset / "targets.jsonl")
    twins = twin_groups(targets, read_twin_list(split.dataset / "twins.tsv"))
    queries = read_queries(split.dataset / f"{split.name}.queries.jsonl")
    qrels = read_qrels(split.dataset / f"{split.name}.qrels.tsv")
    engine = _engine(targets, embedder, cache_dir, ranker)
    qcache = VectorCache(cache_dir, embedder, "query") if embedder is not None else None
    queries = [
        q
        for q in queries
        if q.id in qrels
        and normalise_text(q.text) not in exclude
        and (only is None or q.id in only)
    ]
    qvecs = qcache.get([query_text(q.text) for q in queries]) if qcache else None
    by_id = {t.id: t for t in targets}
    for i, q in enumerate(queries):
        vec = qvecs[i] if qvecs is not None else None
        gold = with_twins(qrels[q.id], twins)
        words = len(content_words(normalise_text(q.text)))
        ids, x = engine.signals(q.text, vec, q.lang)
        y = np.array([1.0 if c in gold else 0.0 for c in ids])
        present = _seen(engine.search_with_vector(q.text, vec, 10, q.lang), gold, words)
        stored = engine.vectors_of(gold)
        engine.remove(list(gold))
        _, xr = engine.signals(q.text, vec, q.lang)
        absent = _seen(engine.search_with_vector(q.text, vec, 10, q.lang), gold, words)
        engine.upsert(
            [
                IndexItem(t.id, t.claim, t.title, t.url, t.lang, stored.get(t.id))
                for t in (by_id[g] for g in gold if g in by_id)
            ]
        )
        yield Collected(q, QueryRows(x, y, xr), present, absent)


def fit(rows: list[QueryRows], dense: bool, name: str) -> LogisticRanker:
    x = np.vstack([r.present_x for r in rows] + [r.removed_x for r in rows])
    y = np.concatenate([r.present_y for r in rows] + [np.zeros(len(r.removed_x)) for r in rows])
    use = np.array([dense or not f.startswith("dense") for f in FEATURES])
    return LogisticRanker.fit(x, y, use=use, l2=1.0, name=name)


def fold_of(query: Query, folds: int) -> int:
    """The cross-fitting fold of a query, from its normalised text: a tweet that two datasets
    share falls in the same fold of both, so no fold's ranker has seen the queries it scores."""
    digest = hashlib.blake2b(normalise_text(query.text).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % folds


def cross_fitted(
    splits: list[Split],
    embedder: Embedder | None,
    cache_dir: Path,
    exclude: frozenset[str] | set[str],
    dense: bool,
    name: str,
    folds: int,
) -> tuple[LogisticRanker, list[Seen], list[Seen]]:
    """The ranker fitted on every query of ``splits``, and what the engine shows (gold present,
    gold removed) for each query when ranked by a ranker fitted on the *other* folds only.

    Calibrating on these out-of-fold decisions uses every train and dev query for the
    thresholds without scoring a query with a model that saw it: five times the data of a
    dev split alone (196 queries, where one wrong answer is 0.5%)."""
    collected = [
        (split, c) for split in splits for c in collect(split, embedder, cache_dir, exclude)
    ]
    ranker = fit([c.rows for _, c in collected], dense, name)
    present: list[Seen] = []
    absent: list[Seen] = []
    for k in range(folds):
        others = [c.rows for _, c in collected if fold_of(c.query, folds) != k]
        fold_ranker = fit(others, dense, f"{name}-fold{k}")
        for split in splits:
            held_out = {
                c.query.id for s, c in collected if s == split and fold_of(c.query, folds) == k
            }
            for c in collect(split, embedder, cache_dir, exclude, fold_ranker, held_out):
                present.append(c.present)
                absent.append(c.absent)
    return ranker, present, absent


@dataclass(frozen=True)
class Calibration:
    answer: float
    suggest: float
    min_cover: float
    answer_precision: float | None
    answer_rate: float
    wrong_when_absent: float
    suggest_rate: float
    suggest_offered_hit: float | None


def answered(seen: Seen, t: float, min_words: int = 4, min_cover: float = 0.0) -> bool:
    """The engine's rule: a duplicate of a view, or a top score >= t that agrees with the
    message and covers ``min_cover`` of the claim; 4+ content words."""
    return (
        bool(seen.scores)
        and seen.words >= min_words
        and (seen.duplicate or (seen.agrees and seen.scores[0] >= t and seen.cover >= min_cover))
    )


def offered_hit(seen: Seen, suggest: float) -> bool:
    """Gold among the offered candidates (the top 3 scoring at least half the threshold)."""
    return any(r for s, r in zip(seen.scores, seen.right, strict=True) if s >= suggest / 2)


def trade_off(
    present: list[Seen],
    absent: list[Seen],
    t: float,
    suggest: float,
    min_words: int = 4,
    min_cover: float = 0.0,
) -> dict[str, float | None]:
    """Answered share, precision and wrong-when-gold-absent at answer threshold t (and claim
    coverage floor ``min_cover``), and the suggestion band below it."""
    got = [p for p in present if answered(p, t, min_words, min_cover)]
    right = sum(1 for p in got if p.right[0])
    wrong_absent = sum(1 for a in absent if answered(a, t, min_words, min_cover))
    band = [
        p
        for p in present
        if not answered(p, t, min_words, min_cover) and p.scores and p.scores[0] >= suggest
    ]
    return {
        "answer": t,
        "min_cover": min_cover,
        "answered": len(got) / max(len(present), 1),
        "precision": right / len(got) if got else None,
        "wrong_when_absent": wrong_absent / max(len(absent), 1),
        "suggested": len(band) / max(len(present), 1),
        "offered_hit": sum(offered_hit(p, suggest) for p in band) / len(band) if band else None,
    }


def calibrate(
    present: list[Seen],
    absent: list[Seen],
    min_words: int = 4,
    target_precision: float = 0.98,
    max_wrong: float = 0.01,
    suggest_hit: float = 0.75,
    covers: tuple[float, ...] = (0.0,),
) -> Calibration:
    """Pick thresholds on dev data.

    The answer threshold is the point that answers most while answered precision >=
    ``target_precision`` and the share of gold-absent queries still answered <= ``max_wrong``
    (ties: the higher threshold). The suggest threshold is the lowest t at which the queries
    scoring in [t, t + 0.1) below the answer threshold have their gold among the offered
    candidates at least ``suggest_hit`` of the time (5 queries at least).
    """
    grid = [float(t) for t in np.round(np.arange(0.05, 0.996, 0.005), 3)]
    best = (0.995, covers[0], -1)
    for c in covers:  # the lowest coverage floor wins ties
        for t in grid:
            row = trade_off(present, absent, t, t, min_words, c)
            precision = row["precision"]
            if precision is None or precision < target_precision:
                continue
            if float(row["wrong_when_absent"] or 0.0) > max_wrong:
                continue
            count = sum(answered(p, t, min_words, c) for p in present)
            if count > best[2] or (count == best[2] and c == best[1]):
                best = (t, c, count)
    answer, min_cover = best[0], best[1]
    suggest = answer
    for t in (g for g in grid if g < answer):
        band = [
            p
            for p in present
            if p.scores and t <= p.scores[0] < min(t + 0.1, answer) and not p.duplicate
        ]
        if len(band) >= 5 and sum(offered_hit(p, t) for p in band) / len(band) >= suggest_hit:
            suggest = t
            break
    row = trade_off(present, absent, answer, suggest, min_words, min_cover)
    return Calibration(
        answer=answer,
        suggest=suggest,
        min_cover=min_cover,
        answer_precision=row["precision"],
        answer_rate=float(row["answered"] or 0.0),
        wrong_when_absent=float(row["wrong_when_absent"] or 0.0),
        suggest_rate=float(row["suggested"] or 0.0),
        suggest_offered_hit=row["offered_hit"],
    )
