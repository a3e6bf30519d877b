"""Dot-product search over a growable float32 matrix, addressed by slot.

Below ``IVF_MIN`` live rows the search is exact: a float32 matrix-vector product is one BLAS call
(float16/int8 would halve memory but numpy has no fast kernels for them, and converting per query
costs more than it saves); rows are scanned in chunks and the top-k of each chunk is found with
``argpartition``. Above it, scanning every row costs more than the query embedding (memory
bandwidth: 150 MB per query at 100k rows), so an inverted-file index (:mod:`matching.ivf`)
restricts the scan to the rows of the nearest k-means cells (stored cell by cell, a second copy);
the cells are trained once and new
rows are assigned to their nearest cell as they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.ivf import InvertedFile

__all__ = ["IVF_MIN", "DenseIndex"]

IVF_MIN = 50_000

_CHUNK = 131_072


class DenseIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._mat = np.zeros((1024, dim), dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._n_slots = 0
        self._ivf: InvertedFile | None = None
        self.ivf_min = IVF_MIN

    def __len__(self) -> int:
        return int(self._alive[: self._n_slots].sum())

    @property
    def uses_ivf(self) -> bool:
        return self._ivf is not None

    @property
    def nbytes(self) -> int:
        extra = self._ivf.nbytes if self._ivf is not None else 0
        return int(self._mat.nbytes + self._alive.nbytes + extra)

    def _reserve(self, size: int) -> None:
        if size <= len(self._mat):
            return
        cap = max(size, int(len(self._mat) * 1.5))
        mat = np.zeros((cap, self.dim), dtype=np.float32)
        mat[: self._n_slots] = self._mat[: self._n_slots]
        alive = np.zeros(cap, dtype=bool)
        alive[: self._n_slots] = self._alive[: self._n_slots]
        self._mat, self._alive = mat, alive

    def add(self, slots: Sequence[int], vectors: np.ndarray) -> None:
        if not len(slots):
            return
        idx = np.asarray(slots, dtype=np.int64)
        self._reserve(int(idx.max()) + 1)
        self._mat[idx] = vectors
        self._alive[idx] = True
        self._n_slots = max(self._n_slots, int(idx.max()) + 1)
        if self._ivf is not None:
            self._ivf.assign(idx, self._mat[idx], self._mat)
        elif len(self) >= self.ivf_min:
            live = np.flatnonzero(self._alive[: self._n_slots])
            self._ivf = InvertedFile.train(self._mat, live)

    def remove(self, slots: Sequence[int]) -> None:
        for slot in slots:
            if 0 <= slot < self._n_slots:
                self._alive[slot] = False
                self._mat[slot] = 0.0

    def compact(self, remap: np.ndarray, new_n_slots: int) -> None:
        live = np.flatnonzero(self._alive[: self._n_slots])
        mat = np.zeros((max(new_n_slots, 1024), self.dim), dtype=np.float32)
        mat[remap[live]] = self._mat[live]
        alive = np.zeros(len(mat), dtype=bool)
        alive[remap[live]] = True
        self._mat, self._alive, self._n_slots = mat, alive, new_n_slots
        if self._ivf is not None:
            self._ivf.compact(remap, live, new_n_slots, self._mat)

    def row(self, slot: int) -> np.ndarray:
        return np.array(self._mat[slot], dtype=np.float32)

    def scores_for(self, query: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Cosine of ``query`` with the given slots (0 for dead ones)."""
        if not len(slots):
            return np.zeros(0, np.float32)
        sims = (self._mat[slots] @ query.astype(np.float32)) * self._alive[slots]
        return np.asarray(sims, dtype=np.float32)

    def search(
        self, query: np.ndarray, k: int, exact: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(slots, cosines) of the ``k`` nearest live rows, best first."""
        n = self._n_slots
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = query.astype(np.float32)
        if self._ivf is not None and not exact:
            cand, sc = self._ivf.scores(q, self._mat)
            sc[~self._alive[cand]] = -np.inf
            kk = min(k, len(sc))
            if kk == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            part = np.argpartition(-sc, kk - 1)[:kk]
            order = part[np.argsort(-sc[part], kind="stable")]
            keep = np.isfinite(sc[order])
            return cand[order][keep].astype(np.int64), sc[order][keep].astype(np.float32)
        best_s: list[np.ndarray] = []
        best_v: list[np.ndarray] = []
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            sc = self._mat[start:stop] @ q
            sc[~self._alive[start:stop]] = -np.inf
            kk = min(k, len(sc))
            part = np.argpartition(-sc, kk - 1)[:kk]
            best_s.append(part + start)
            best_v.append(sc[part])
        slots = np.concatenate(best_s)
        vals = np.concatenate(best_v)
        order = np.argsort(-vals, kind="stable")[:k]
        slots, vals = slots[order], vals[order]
        keep = np.isfinite(vals)
        return slots[keep], vals[keep].astype(np.float32)
