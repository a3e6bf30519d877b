from __future__ import annotations

import bm25s
import numpy as np

from matching.lexical import LexicalIndex

DOCS = [
    ["5g", "tower", "spread", "coronavirus"],
    ["whatsapp", "charg", "monthli", "fee"],
    ["plastic", "rice", "china", "rice"],
    ["drink", "hot", "water", "kill", "coronavirus"],
    ["bill", "gate", "vaccin", "microchip"],
]


def _dense_scores(index: LexicalIndex, query: list[str], n: int) -> np.ndarray:
    hits = index.scores(query)
    out = np.zeros(n, np.float32)
    out[hits.slots] = hits.bm25
    return out


def test_scores_equal_bm25s_lucene() -> None:
    index = LexicalIndex()
    index.add(list(range(len(DOCS))), DOCS)
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index(DOCS, show_progress=False)
    for query in (["coronavirus", "tower"], ["rice"], ["vaccin", "fee", "hot"]):
        res = ref.retrieve([query], k=len(DOCS), show_progress=False)
        expected = np.zeros(len(DOCS), np.float32)
        expected[res.documents[0]] = res.scores[0]
        np.testing.assert_allclose(_dense_scores(index, query, len(DOCS)), expected, rtol=1e-4)


def test_incremental_equals_bulk_after_merge() -> None:
    bulk = LexicalIndex()
    bulk.add(list(range(len(DOCS))), DOCS)
    inc = LexicalIndex()
    for i, doc in enumerate(DOCS):
        inc.add([i], [doc])
    inc.add([99], [["junk", "coronavirus"]])
    inc.remove([99])
    inc.merge()  # drops the dead posting and refreshes document frequencies
    q = ["coronavirus", "rice"]
    np.testing.assert_allclose(_dense_scores(inc, q, 100)[:5], _dense_scores(bulk, q, 5), rtol=1e-5)


def test_removed_documents_never_score_and_match_stats() -> None:
    index = LexicalIndex()
    index.add([0, 1], [DOCS[0], DOCS[3]])
    index.remove([0])
    hits = index.scores(["coronavirus", "tower"])
    assert hits.slots.tolist() == [1]
    assert hits.matched_terms.tolist() == [1.0]
    assert len(index) == 1


def test_compact_renumbers_slots() -> None:
    index = LexicalIndex()
    index.add([0, 1, 2], DOCS[:3])
    index.remove([1])
    remap = np.array([0, -1, 1])
    index.compact(remap, 2)
    assert index.scores(["rice"]).slots.tolist() == [1]
    assert index.scores(["5g"]).slots.tolist() == [0]


def test_empty_index_and_unknown_terms() -> None:
    index = LexicalIndex()
    assert len(index.scores(["x"]).slots) == 0
    index.add([0], [[]])
    assert len(index.scores(["nothing"]).slots) == 0
    assert len(index.scores([]).slots) == 0


def test_many_small_adds_freeze_into_segments() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(300)]
    index = LexicalIndex()
    docs = [[vocab[j] for j in rng.integers(0, 300, 40)] for _ in range(3000)]
    for i, d in enumerate(docs):
        index.add([i], [d])
    ref = LexicalIndex()
    ref.add(list(range(3000)), docs)
    q = ["w1", "w2", "w299"]
    np.testing.assert_allclose(
        _dense_scores(index, q, 3000), _dense_scores(ref, q, 3000), rtol=1e-5
    )


def _all_scores(index: LexicalIndex, queries: list[list[str]], n: int) -> np.ndarray:
    return np.stack([_dense_scores(index, q, n) for q in queries])


def test_removal_leaves_scores_of_an_index_that_never_held_the_document() -> None:
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(60)]
    docs = [list(rng.choice(vocab, size=int(rng.integers(3, 12)))) for _ in range(200)]
    removed = set(rng.choice(200, size=80, replace=False).tolist())
    index = LexicalIndex()
    index.add(list(range(100)), docs[:100])  # one bulk segment
    for i in range(100, 200):  # and the delta
        index.add([i], [docs[i]])
    index.remove(sorted(removed))
    fresh = LexicalIndex()
    kept = [i for i in range(200) if i not in removed]
    fresh.add(kept, [docs[i] for i in kept])
    queries = [list(rng.choice(vocab, size=4)) for _ in range(40)]
    np.testing.assert_allclose(
        _all_scores(index, queries, 200), _all_scores(fresh, queries, 200), rtol=1e-5
    )
    assert fresh.query_idf(queries[0]) == index.query_idf(queries[0])
    # retiring and restoring (a new slot) changes nobody else's scores either
    index.add([300], [docs[kept[0]]])
    index.remove([300])
    np.testing.assert_allclose(
        _all_scores(index, queries, 200), _all_scores(fresh, queries, 200), rtol=1e-5
    )


def test_removal_then_compact_keeps_document_frequencies() -> None:
    index = LexicalIndex()
    index.add([0, 1, 2], DOCS[:3])
    index.remove([0])
    index.compact(np.array([-1, 0, 1]), 2)
    index.remove([0])
    fresh = LexicalIndex()
    fresh.add([1], [DOCS[2]])
    assert index.idf(["rice", "fee"]).tolist() == fresh.idf(["rice", "fee"]).tolist()
