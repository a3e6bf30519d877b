"""CheckThat! ranking metrics over ranked id lists.

MAP@k: per query, the sum of precision at every relevant hit within the top k divided by the
number of relevant items, averaged over the labelled queries (a query with no output scores 0).
R@k: share of the relevant items in the top k. MRR: reciprocal rank of the first relevant item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

__all__ = ["average_precision", "evaluate_run"]


def average_precision(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked[:k], 1):
        if doc in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant)


def _recall(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def _rr(ranked: Sequence[str], relevant: set[str]) -> float:
    for i, doc in enumerate(ranked, 1):
        if doc in relevant:
            return 1.0 / i
    return 0.0


def evaluate_run(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]
) -> dict[str, float]:
    """Metrics over every query of ``qrels`` (missing from ``run`` = empty output)."""
    qids = [q for q, rel in qrels.items() if rel]
    if not qids:
        return {m: 0.0 for m in ("MAP@1", "MAP@5", "R@1", "R@5", "R@10", "MRR")}

    def mean(f: Callable[[Sequence[str], set[str]], float]) -> float:
        return sum(f(run.get(q, []), qrels[q]) for q in qids) / len(qids)

    return {
        "MAP@1": mean(lambda r, g: average_precision(r, g, 1)),
        "MAP@5": mean(lambda r, g: average_precision(r, g, 5)),
        "R@1": mean(lambda r, g: _recall(r, g, 1)),
        "R@5": mean(lambda r, g: _recall(r, g, 5)),
        "R@10": mean(lambda r, g: _recall(r, g, 10)),
        "MRR": mean(_rr),
        "queries": float(len(qids)),
    }
