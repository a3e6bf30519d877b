"""A disk cache of vectors keyed by (model, role, text embedded), for evaluation runs.

The product stores vectors with its fact-checks; the benchmark has no database, so it keeps them
here to avoid re-embedding tens of thousands of claims on every run.

The key is the text the embedder really reads (``passage_input``/``query_input`` when it has
them, e.g. the lead of a long fact-check) under the embedder's ``model_key`` (else its
``name``): a new cut re-embeds only the texts it changes, short claims keep their vectors.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from matching.embedders import Embedder

__all__ = ["VectorCache", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$RUMOURBOT_VECTOR_CACHE``, else ~/.cache/rumourbot-matching."""
    configured = os.environ.get("RUMOURBOT_VECTOR_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "rumourbot-matching"


def _same(text: str) -> str:
    return text


def _key(text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return digest.hexdigest()[:20]


class VectorCache:
    """One ``.npz`` per (embedder, role); loaded whole, appended to, written back atomically."""

    def __init__(self, directory: Path, embedder: Embedder, role: str) -> None:
        model = str(getattr(embedder, "model_key", embedder.name))
        safe = "".join(c if c.isalnum() else "_" for c in model)
        self._path = directory / f"{safe}.{role}.npz"
        self._embedder = embedder
        self._role = role
        prepare = getattr(embedder, "query_input" if role == "query" else "passage_input", None)
        self._input: Callable[[str], str] = prepare if callable(prepare) else _same
        self._index: dict[str, int] = {}
        self._rows: list[np.ndarray] = []
        if self._path.exists():
            with np.load(self._path) as data:
                keys, mat = data["keys"], data["vectors"]
            self._index = {str(k): i for i, k in enumerate(keys)}
            self._rows = [mat]

    def _matrix(self) -> np.ndarray:
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows)]
        return self._rows[0] if self._rows else np.zeros((0, self._embedder.dim), np.float16)

    def has(self, text: str) -> bool:
        return _key(self._input(text)) in self._index

    def get(self, texts: Sequence[str], batch: int = 256) -> np.ndarray:
        """Vectors of ``texts`` (float32), embedding and saving the ones not cached yet."""
        inputs = [self._input(t) for t in texts]
        keys = [_key(t) for t in inputs]
        missing = list(dict.fromkeys(k for k in keys if k not in self._index))
        if missing:
            by_key = dict(zip(keys, inputs, strict=True))
            embed = (
                self._embedder.embed_queries
                if self._role == "query"
                else self._embedder.embed_passages
            )
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                vecs = embed([by_key[k] for k in chunk]).astype(np.float16)
                base = sum(len(r) for r in self._rows)
                self._rows.append(vecs)
                for i, k in enumerate(chunk):
                    self._index[k] = base + i
                self.save()
        mat = self._matrix()
        return mat[[self._index[k] for k in keys]].astype(np.float32)

    def save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.empty(len(self._index), dtype=object)
        for k, i in self._index.items():
            keys[i] = k
        tmp = self._path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys.astype(str), vectors=self._matrix())
        tmp.replace(self._path)
