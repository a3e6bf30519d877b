from __future__ import annotations

import numpy as np
import pytest

import matching.dense as dense_mod
from matching.dedup import DedupIndex
from matching.dense import DenseIndex


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_dense_top_k_is_exact_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "_CHUNK", 7)
    rng = np.random.default_rng(1)
    mat = _unit(rng.normal(size=(50, 16)).astype(np.float32))
    index = DenseIndex(16)
    index.add(list(range(50)), mat)
    index.remove([int(np.argmax(mat @ mat[3]))])  # that is row 3 itself
    slots, vals = index.search(mat[3], 5)
    brute = mat @ mat[3]
    brute[3] = -np.inf
    assert slots.tolist() == np.argsort(-brute)[:5].tolist()
    np.testing.assert_allclose(vals, np.sort(brute)[::-1][:5], rtol=1e-5)


def test_dense_empty_and_compact() -> None:
    index = DenseIndex(4)
    assert index.search(np.ones(4, np.float32), 3)[0].size == 0
    index.add([0, 1, 2], np.eye(3, 4, dtype=np.float32))
    index.remove([0])
    index.compact(np.array([-1, 0, 1]), 2)
    slots, vals = index.search(np.array([0, 0, 1, 0], np.float32), 1)
    assert slots.tolist() == [1] and vals[0] == pytest.approx(1.0)
    assert len(index) == 2


def test_exact_and_near_duplicates() -> None:
    base = (
        "the government will give every citizen free internet for three months "
        "if you register on this site before friday"
    )
    index = DedupIndex()
    index.add([0, 1, 2], [base, "drinking hot water every morning kills the virus", ""])
    assert index.exact(base).tolist() == [0]
    near, jac = index.near(base.replace("friday", "saturday") + " share it")
    assert near.tolist() == [0] and jac[0] > 0.5
    assert index.near("a completely different message about rice made of plastic")[0].size == 0
    index.remove([0])
    assert index.exact(base).size == 0


def test_near_duplicates_survive_growth_and_compaction() -> None:
    rumour = "the water supply of the whole city will be cut tonight from eight until monday"
    index = DedupIndex()
    others = [
        f"message number {i} about the market in ward {i % 9} and its prices" for i in range(3000)
    ]
    index.add(list(range(3000)), others)
    index.add([3000], [rumour])  # past the first 1,024 slots: the arrays grew twice
    near, jac = index.near(rumour + " share it")
    assert near.tolist() == [3000] and jac[0] > 0.5
    index.remove([5])
    live = np.array([i for i in range(3001) if i != 5])
    remap = np.full(3001, -1, dtype=np.int64)
    remap[live] = np.arange(len(live))
    index.compact(remap, live, len(live))
    assert index.near(rumour + " share it")[0].tolist() == [2999]
    assert 6 in index.near(others[7])[0].tolist()


def test_ivf_recall_and_incremental_updates() -> None:
    rng = np.random.default_rng(2)
    centres = _unit(rng.normal(size=(40, 32)).astype(np.float32))
    rows = _unit(centres[rng.integers(0, 40, 6000)] + 0.3 * rng.normal(size=(6000, 32)))
    index = DenseIndex(32)
    index.ivf_min = 3000
    index.add(list(range(5000)), rows[:5000].astype(np.float32))
    index.add(list(range(5000, 6000)), rows[5000:].astype(np.float32))  # arrive after training
    index.remove([10])
    hits = 0
    for i in range(0, 6000, 60):
        approx = index.search(rows[i], 10)[0].tolist()
        exact = index.search(rows[i], 10, exact=True)[0].tolist()
        assert 10 not in approx
        hits += len(set(approx) & set(exact))
    assert hits / (100 * 10) > 0.9
    index.compact(np.arange(6000) - (np.arange(6000) > 10), 5999)
    assert index.search(rows[5999], 1)[0].tolist() == [5998]
