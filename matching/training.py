"""Train the re-ranker on train splits and calibrate decision thresholds on dev splits.

Only train/dev data is read here; test splits are for reporting (and any train query whose text
also appears in a test split of another dataset is dropped, because the CLEF years re-use tweets).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.datasets import Query, Target, read_qrels, read_queries, read_targets
from matching.embedders import Embedder
from matching.engine import IndexItem, MatchingEngine
from matching.fields import passage_text, query_text
from matching.normalise import normalise_text
from matching.ranker import FEATURES, LogisticRanker
from matching.vcache import VectorCache

__all__ = ["Split", "calibrate", "collect", "fit", "test_texts"]


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


def collect(
    split: Split,
    embedder: Embedder | None,
    cache_dir: Path,
    exclude: frozenset[str] | set[str] = frozenset(),
    ranker: LogisticRanker | None = None,
) -> Iterator[tuple[Query, QueryRows, list[str], list[str]]]:
    """For each labelled query: feature rows and candidate ids (present, removed)."""
    targets = read_targets(split.dataset / "targets.jsonl")
    queries = read_queries(split.dataset / f"{split.name}.queries.jsonl")
    qrels = read_qrels(split.dataset / f"{split.name}.qrels.tsv")
    engine = _engine(targets, embedder, cache_dir, ranker)
    qcache = VectorCache(cache_dir, embedder, "query") if embedder is not None else None
    queries = [q for q in queries if q.id in qrels and normalise_text(q.text) not in exclude]
    qvecs = qcache.get([query_text(q.text) for q in queries]) if qcache else None
    for i, q in enumerate(queries):
        vec = qvecs[i] if qvecs is not None else None
        gold = qrels[q.id]
        ids, x = engine.signals(q.text, vec, q.lang)
        y = np.array([1.0 if c in gold else 0.0 for c in ids])
        stored = engine.vectors_of(gold)
        engine.remove(gold)
        ids_removed, xr = engine.signals(q.text, vec, q.lang)
        engine.upsert(
            [
                IndexItem(t.id, t.claim, t.title, t.url, t.lang, stored.get(t.id))
                for t in targets
                if t.id in gold
            ]
        )
        yield q, QueryRows(x, y, xr), ids, ids_removed


def fit(rows: list[QueryRows], dense: bool, name: str) -> LogisticRanker:
    x = np.vstack([r.present_x for r in rows] + [r.removed_x for r in rows])
    y = np.concatenate([r.present_y for r in rows] + [np.zeros(len(r.removed_x)) for r in rows])
    use = np.array([dense or not f.startswith("dense") for f in FEATURES])
    return LogisticRanker.fit(x, y, use=use, l2=1.0, name=name)


@dataclass(frozen=True)
class Calibration:
    answer: float
    suggest: float
    answer_precision: float
    answer_rate: float
    wrong_when_absent: float
    suggest_top3_hit: float


def calibrate(
    top_present: list[tuple[float, bool, bool, int]],
    top_absent: list[tuple[float, int]],
    min_words: int = 4,
    target_precision: float = 0.98,
    max_wrong: float = 0.01,
    suggest_hit: float = 0.75,
) -> Calibration:
    """Pick thresholds on dev data.

    ``top_present``: per query (top score, top-1 correct, gold in top 3, content words);
    ``top_absent``: per query with its gold removed (top score, content words). The answer
    threshold is the lowest at which answered precision >= ``target_precision`` and the share of
    gold-absent queries still answered <= ``max_wrong``; the suggest threshold is the lowest at
    which queries scoring in [suggest, suggest + 0.1) have their gold in the top 3 at least
    ``suggest_hit`` of the time.
    """
    grid = np.round(np.arange(0.05, 0.996, 0.005), 3)
    answer = 0.995
    for t in grid:
        answered = [c for s, c, _, w in top_present if s >= t and w >= min_words]
        wrong_absent = sum(1 for s, w in top_absent if s >= t and w >= min_words)
        if not answered:
            continue
        prec = sum(answered) / len(answered)
        if prec >= target_precision and wrong_absent <= max_wrong * max(len(top_absent), 1):
            answer = float(t)
            break
    suggest = answer
    for t in grid[grid < answer]:
        # local, not cumulative: the queries just above t must mostly have their gold in the top 3
        band = [h for s, _, h, _ in top_present if t <= s < min(t + 0.1, answer)]
        if len(band) >= 5 and sum(band) / len(band) >= suggest_hit:
            suggest = float(t)
            break
    answered = [c for s, c, _, w in top_present if s >= answer and w >= min_words]
    band = [h for s, _, h, _ in top_present if suggest <= s < answer]
    return Calibration(
        answer=answer,
        suggest=suggest,
        answer_precision=sum(answered) / len(answered) if answered else 1.0,
        answer_rate=len(answered) / max(len(top_present), 1),
        wrong_when_absent=sum(1 for s, w in top_absent if s >= answer and w >= min_words)
        / max(len(top_absent), 1),
        suggest_top3_hit=sum(band) / len(band) if band else 0.0,
    )
