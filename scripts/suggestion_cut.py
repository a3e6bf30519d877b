"""Measure the conversation's suggestion policy on benchmark splits (tune on dev, report test).

For every query the engine decides SUGGEST on, it compares what is offered today (the engine's
suggested candidates) with what the conversation offers (`claims.close_to_top`: only candidates
scoring at least a share of the top one), for several shares: how often the gold item is among
the offered candidates, and how many candidates a resident has to read.

    .venv/bin/python scripts/suggestion_cut.py ../shared/benchdata/clef2020-t2-en dev

Reads the data in place (never copy it into the repository); target vectors are cached like
`rumourbot eval` caches them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.conversation.claims import RELATIVE_CUT, close_to_top
from matching import Candidate
from matching.datasets import read_qrels, read_queries, read_targets
from matching.engine import Outcome
from matching.evaluation import EvalConfig, build_engine
from matching.vcache import default_cache_dir

CUTS = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)


def measure(folder: Path, split: str) -> dict[str, object]:
    canonical = folder / "canonical"
    cfg = EvalConfig(
        targets=canonical / "targets.jsonl",
        queries=canonical / f"{split}.queries.jsonl",
        qrels=canonical / f"{split}.qrels.tsv",
        cache_dir=default_cache_dir(),
        baseline=False,
        gold_removed=False,
    )
    engine, _ = build_engine(cfg, read_targets(cfg.targets))
    qrels = read_qrels(cfg.qrels) if cfg.qrels else {}
    suggested: list[tuple[list[tuple[str, float]], set[str]]] = []
    labelled = 0
    for query in read_queries(cfg.queries):
        if query.id not in qrels:
            continue
        labelled += 1
        decision = engine.decide(query.text, lang=query.lang)
        if decision.outcome == Outcome.SUGGEST:
            offered = [(c.id, c.score) for c in decision.candidates]
            suggested.append((offered, qrels[query.id]))
    rows = {}
    for cut in CUTS:
        hits = offered_total = 0
        for offered, gold in suggested:
            kept = close_to_top([Candidate(i, s) for i, s in offered], cut)
            hits += bool({c.id for c in kept} & gold)
            offered_total += len(kept)
        n = max(len(suggested), 1)
        rows[f"{cut:.2f}"] = {
            "gold_offered": round(hits / n, 4),
            "mean_offered": round(offered_total / n, 2),
        }
    today_hits = sum(1 for offered, gold in suggested if {i for i, _ in offered} & gold)
    return {
        "dataset": folder.name,
        "split": split,
        "queries": labelled,
        "suggested": len(suggested),
        "suggest_rate": round(len(suggested) / max(labelled, 1), 4),
        "today_gold_offered": round(today_hits / max(len(suggested), 1), 4),
        "today_mean_offered": round(sum(len(o) for o, _ in suggested) / max(len(suggested), 1), 2),
        "shipped_cut": RELATIVE_CUT,
        "by_cut": rows,
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2]), indent=2))
