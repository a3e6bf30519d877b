"""An inverted-file (IVF) coarse quantiser for :class:`matching.dense.DenseIndex`.

Spherical k-means on a sample of the rows gives ``nlist`` ~ sqrt(n) cells; each row is filed
under its nearest centroid. A query scans the rows of its ``nprobe`` nearest cells (about a quarter
of the pool). Rows added later are assigned on arrival and kept in a *pending* list until it
exceeds 5% of the filed rows, when the per-cell arrays are rebuilt (one argsort of an int array).
The cells are not retrained as the pool grows; with k-means on a few tens of thousands of
claims this is adequate up to a few million rows (measure recall with ``search(exact=True)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["InvertedFile"]

_SAMPLE = 20_000
_ITERS = 6
_ASSIGN_CHUNK = 65_536


def _nearest(centroids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.empty(len(rows), dtype=np.int32)
    for start in range(0, len(rows), _ASSIGN_CHUNK):
        block = rows[start : start + _ASSIGN_CHUNK]
        out[start : start + len(block)] = np.argmax(block @ centroids.T, axis=1)
    return out


class InvertedFile:
    def __init__(self, centroids: np.ndarray, nprobe: int) -> None:
        self.centroids = centroids
        self.nprobe = nprobe
        self._list_of = np.full(1024, -1, dtype=np.int32)
        self._order = np.zeros(0, dtype=np.int64)
        self._offsets = np.zeros(len(centroids) + 1, dtype=np.int64)
        self._pending: list[int] = []
        self._sorted = np.zeros((0, centroids.shape[1]), dtype=np.float32)

    @classmethod
    def train(cls, mat: np.ndarray, live: np.ndarray, seed: int = 0) -> InvertedFile:
        """k-means on (a sample of) ``mat[live]``, then file every live row."""
        rng = np.random.default_rng(seed)
        nlist = int(np.clip(np.sqrt(len(live)), 16, 1024))
        sample = mat[rng.choice(live, size=min(len(live), _SAMPLE), replace=False)]
        centroids = sample[rng.choice(len(sample), size=nlist, replace=False)].copy()
        for _ in range(_ITERS):
            assign = _nearest(centroids, sample)
            sums = np.zeros_like(centroids)
            np.add.at(sums, assign, sample)
            empty = np.bincount(assign, minlength=nlist) == 0
            sums[empty] = sample[rng.choice(len(sample), size=int(empty.sum()))]
            centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        ivf = cls(centroids.astype(np.float32), nprobe=max(8, nlist // 4))
        ivf.assign(live, mat[live], mat)
        ivf.rebuild(mat)
        return ivf

    def assign(self, slots: np.ndarray, rows: np.ndarray, mat: np.ndarray) -> None:
        if not len(slots):
            return
        top = int(slots.max()) + 1
        if top > len(self._list_of):
            grown = np.full(max(top, int(len(self._list_of) * 1.5)), -1, dtype=np.int32)
            grown[: len(self._list_of)] = self._list_of
            self._list_of = grown
        self._list_of[slots] = _nearest(self.centroids, rows)
        self._pending.extend(int(s) for s in slots)
        if len(self._pending) > max(1024, len(self._order) // 20):
            self.rebuild(mat)

    def rebuild(self, mat: np.ndarray) -> None:
        """Re-file every assigned slot by cell and copy the rows cell by cell.

        The copy doubles the memory of the dense side but makes each probed cell one contiguous
        block: gathering a quarter of the rows by fancy indexing cost as much as the exact scan.
        """
        filed = np.flatnonzero(self._list_of >= 0)
        cells = self._list_of[filed]
        order = np.argsort(cells, kind="stable")
        self._order = filed[order]
        counts = np.bincount(cells, minlength=len(self.centroids))
        self._offsets = np.zeros(len(self.centroids) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._offsets[1:])
        self._pending = []
        self._sorted = mat[self._order]

    @property
    def nbytes(self) -> int:
        return int(self._sorted.nbytes + self._list_of.nbytes + self._order.nbytes)

    def compact(self, remap: np.ndarray, live: np.ndarray, new_n: int, mat: np.ndarray) -> None:
        list_of = np.full(max(new_n, 1024), -1, dtype=np.int32)
        list_of[remap[live]] = self._list_of[live]
        self._list_of = list_of
        self.rebuild(mat)

    def scores(self, query: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slots, cosines) of the rows in the ``nprobe`` cells nearest to ``query``.

        May include dead slots and, for a slot re-filed since the last rebuild, a stale copy:
        the caller masks dead slots, and a re-filed slot's stale row is scored with its old
        vector (slots are never reused, so a changed vector always arrives under a new slot).
        """
        sims = self.centroids @ query
        probe = np.argpartition(-sims, min(self.nprobe, len(sims)) - 1)[: self.nprobe]
        slots, vals = [], []
        for c in probe.tolist():
            lo, hi = int(self._offsets[c]), int(self._offsets[c + 1])
            if hi > lo:
                slots.append(self._order[lo:hi])
                vals.append(self._sorted[lo:hi] @ query)
        if self._pending:
            pend = np.asarray(self._pending, dtype=np.int64)
            pend = pend[np.isin(self._list_of[pend], probe)]
            slots.append(pend)
            vals.append(mat[pend] @ query)
        if not slots:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(slots), np.concatenate(vals).astype(np.float32)
