"""Exact and near-duplicate detection for chain messages (MinHash, vectorised in numpy).

Each document keeps a 64-bit hash of its normalised text (exact duplicates) and a 32-value
MinHash signature of its word 3-gram shingles (character 5-grams for very short texts), stored
as uint16. Eight bands of four values are viewed as one uint64 each, so the LSH candidate test
against the whole pool is one vectorised comparison rather than millions of dict buckets:
at a million documents that is 64 MB of signatures and about 3 ms per query.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = ["NEAR_DUPLICATE", "DedupIndex", "dedup_key", "minhash", "text_hash"]

NUM_PERM = 32
# MinHash Jaccard above which a message is the same text as an indexed one, give or take
# forwarding noise and a typo (the estimate moves in steps of 1/32).
NEAR_DUPLICATE = 0.75
BANDS = 8
_rng = np.random.default_rng(20240611)
_A = _rng.integers(1, 2**63 - 1, NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63 - 1, NUM_PERM, dtype=np.uint64)


_WORD_RE = re.compile(r"\w+", re.UNICODE)


def dedup_key(normalised: str) -> str:
    """The words of a normalised text, one space apart: punctuation and spacing do not count."""
    return " ".join(_WORD_RE.findall(normalised))


def text_hash(normalised: str) -> int:
    digest = hashlib.blake2b(normalised.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


def _shingles(normalised: str) -> list[str]:
    words = normalised.split()
    if len(words) >= 5:
        return [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    s = " ".join(words)
    return [s[i : i + 5] for i in range(max(len(s) - 4, 1))] if s else []


def minhash(normalised: str) -> np.ndarray | None:
    """32 uint16 values (multiply-shift hashing of crc32 shingle ids), or None for empty text."""
    shingles = _shingles(normalised)
    if not shingles:
        return None
    x = np.array(
        [zlib.crc32(s.encode("utf-8", "surrogatepass")) for s in set(shingles)], dtype=np.uint64
    )
    with np.errstate(over="ignore"):
        hashed = _A[None, :] * x[:, None] + _B[None, :]
    return np.asarray(hashed.min(axis=0) >> np.uint64(48), dtype=np.uint16)


class DedupIndex:
    """Signatures are stored band-major, ``(BANDS, capacity)`` uint64: the LSH test is then one
    contiguous comparison per band (a row-major ``(n, BANDS)`` test with ``any(axis=1)`` cost ten
    times more: about 3.5 ms per query at 100,000 documents)."""

    def __init__(self) -> None:
        self._hash = np.zeros(1024, dtype=np.uint64)
        self._bands = np.zeros((BANDS, 1024), dtype=np.uint64)
        self._has_sig = np.zeros(1024, dtype=bool)
        self._n = 0

    def _reserve(self, size: int) -> None:
        if size <= len(self._hash):
            return
        cap = max(size, int(len(self._hash) * 1.5))
        h = np.zeros(cap, np.uint64)
        h[: self._n] = self._hash[: self._n]
        b = np.zeros((BANDS, cap), np.uint64)
        b[:, : self._n] = self._bands[:, : self._n]
        f = np.zeros(cap, bool)
        f[: self._n] = self._has_sig[: self._n]
        self._hash, self._bands, self._has_sig = h, b, f

    def add(self, slots: Sequence[int], normalised: Sequence[str]) -> None:
        if not slots:
            return
        self._reserve(max(slots) + 1)
        for slot, text in zip(slots, normalised, strict=True):
            self._hash[slot] = text_hash(text) if text else 0
            sig = minhash(text)
            self._has_sig[slot] = sig is not None
            if sig is not None:
                self._bands[:, slot] = sig.view(np.uint64)
        self._n = max(self._n, max(slots) + 1)

    def remove(self, slots: Sequence[int]) -> None:
        for slot in slots:
            if 0 <= slot < self._n:
                self._hash[slot] = 0
                self._has_sig[slot] = False

    def compact(self, remap: np.ndarray, live: np.ndarray, new_n: int) -> None:
        h = np.zeros(max(new_n, 1024), np.uint64)
        b = np.zeros((BANDS, len(h)), np.uint64)
        f = np.zeros(len(h), bool)
        h[remap[live]], f[remap[live]] = self._hash[live], self._has_sig[live]
        b[:, remap[live]] = self._bands[:, live]
        self._hash, self._bands, self._has_sig, self._n = h, b, f, new_n

    def exact(self, normalised: str) -> np.ndarray:
        if not normalised or not self._n:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self._hash[: self._n] == np.uint64(text_hash(normalised)))

    def near(self, normalised: str, min_jaccard: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """(slots, estimated Jaccard) of documents sharing an LSH band and above ``min_jaccard``."""
        sig = minhash(normalised)
        if sig is None or not self._n:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        n = self._n
        qb = sig.view(np.uint64)
        hit = self._bands[0, :n] == qb[0]
        for band in range(1, BANDS):
            hit |= self._bands[band, :n] == qb[band]
        cand = np.flatnonzero(hit & self._has_sig[:n])
        if not len(cand):
            return cand, np.zeros(0, np.float32)
        sigs = np.ascontiguousarray(self._bands[:, cand].T).view(np.uint16)  # (len(cand), 32)
        jac = (sigs == sig[None, :]).mean(axis=1).astype(np.float32)
        keep = jac >= min_jaccard
        return cand[keep], jac[keep]
