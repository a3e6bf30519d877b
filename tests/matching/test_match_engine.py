from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from matching import (
    Candidate,
    Decision,
    IndexItem,
    MatchingEngine,
    MatchKind,
    Outcome,
    Thresholds,
    build_embedder,
)
from matching.embedders import HashingEmbedder

CLAIMS = {
    "5g": "5G mobile towers spread the coronavirus.",
    "fee": "WhatsApp will start charging users a monthly fee unless they forward a message.",
    "rice": "Plastic rice made in China is being sold in local markets.",
    "water": "Drinking hot water every fifteen minutes kills the coronavirus.",
}


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.passages = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages += len(texts)
        return super().embed_passages(texts)


def _engine(**kw: object) -> MatchingEngine:
    engine = MatchingEngine(build_embedder("hashing"), **kw)  # type: ignore[arg-type]
    engine.upsert(
        [IndexItem(k, v, url=f"https://factcheck.example/{k}") for k, v in CLAIMS.items()]
    )
    return engine


def test_search_finds_the_repeated_claim() -> None:
    engine = _engine()
    cands = engine.search("Forwarded as received: the 5G towers are spreading coronavirus!!! 😱")
    assert cands[0].id == "5g"
    assert all(isinstance(c, Candidate) and 0.0 <= c.score <= 1.0 for c in cands)
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    assert len(engine) == 4


def test_upsert_returns_vectors_and_reuses_stored_ones() -> None:
    emb = CountingEmbedder()
    engine = MatchingEngine(emb)
    vecs = engine.upsert([IndexItem(k, v) for k, v in CLAIMS.items()])
    assert set(vecs) == set(CLAIMS) and emb.passages == 4
    restarted = MatchingEngine(emb)
    again = restarted.upsert([IndexItem(k, v, vector=vecs[k]) for k, v in CLAIMS.items()])
    assert again == {} and emb.passages == 4
    assert restarted.search("plastic rice from china")[0].id == "rice"
    assert engine.embedder_name == "hashing:64:v1"


def test_edit_and_retire_update_the_index() -> None:
    engine = _engine()
    engine.upsert([IndexItem("rice", "Eggs made of plastic are sold in markets.")])
    assert len(engine) == 4
    assert engine.search("plastic eggs sold in the market")[0].id == "rice"
    engine.remove(["rice", "unknown"])
    assert "rice" not in {c.id for c in engine.search("plastic eggs sold in the market")}
    assert len(engine) == 3


def test_many_edits_trigger_compaction_and_keep_results() -> None:
    engine = MatchingEngine(build_embedder("hashing"))
    engine.upsert([IndexItem(str(i), f"claim number {i} about topic {i % 7}") for i in range(300)])
    for round_ in range(6):
        engine.upsert(
            [
                IndexItem(str(i), f"claim number {i} about topic {i % 7} v{round_}")
                for i in range(300)
            ]
        )
    assert len(engine) == 300
    assert engine.search("claim number 123 about topic 4 v5")[0].id == "123"


def test_link_to_a_known_fact_check_is_a_match() -> None:
    decision = _engine().decide("https://www.factcheck.example/water/?utm_source=whatsapp")
    assert decision.outcome is Outcome.ANSWER
    assert decision.candidates[0].id == "water"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😱😱😱🙏", "<html><body></body></html>", "a" * 10_000, "\x00\ud800", "?!?!?!"],
)
def test_junk_never_crashes(text: str) -> None:
    engine = _engine()
    decision = engine.decide(text)
    assert isinstance(decision, Decision)
    if not normalise_has_words(text):
        assert decision == Decision(Outcome.QUEUE, [], 0.0)


def normalise_has_words(text: str) -> bool:
    from matching.normalise import normalise_text
    from matching.tokenise import tokenise

    return bool(tokenise(normalise_text(text)))


def test_long_html_message_is_matched() -> None:
    text = (
        "<div>"
        + "Drinking hot water every fifteen minutes kills the coronavirus. " * 150
        + "</div>"
    )
    assert _engine().search(text)[0].id == "water"


def test_empty_and_single_item_pools() -> None:
    engine = MatchingEngine(build_embedder("hashing"))
    assert engine.search("anything") == []
    assert engine.decide("anything at all here").outcome is Outcome.QUEUE
    engine.upsert([IndexItem("only", "is the school closed tomorrow")])
    assert [c.id for c in engine.search("is the school closed tomorrow?")] == ["only"]
    engine.remove(["only"])
    assert engine.search("is the school closed tomorrow?") == []


def test_lexical_only_engine() -> None:
    engine = MatchingEngine(dense=False)
    engine.upsert([IndexItem(k, v) for k, v in CLAIMS.items()])
    assert engine.embedder_name == "none"
    assert engine.search("hot water kills coronavirus")[0].id == "water"


def test_short_messages_never_auto_answer() -> None:
    engine = _engine(thresholds=Thresholds(answer=0.0, suggest=0.0))
    assert engine.decide("5G coronavirus").outcome is Outcome.SUGGEST
    long_one = engine.decide("the 5G mobile towers spread the coronavirus")
    assert long_one.outcome is Outcome.ANSWER and long_one.candidates[0].id == "5g"


def test_a_ranked_answer_needs_the_claim_coverage_floor() -> None:
    engine = _engine(thresholds=Thresholds(answer=0.9, suggest=0.5, min_cover=0.25))
    text = "people say the 5G mobile towers spread the coronavirus"
    covered = [Candidate("0", 0.95, cover=0.5), Candidate("1", 0.2)]
    assert engine.decide_from(text, covered).outcome is Outcome.ANSWER
    # the same score for a claim that shares only a few of its words with the message
    topic_only = [Candidate("0", 0.95, cover=0.1), Candidate("1", 0.2)]
    assert engine.decide_from(text, topic_only).outcome is Outcome.SUGGEST
    # a restatement answers whatever its coverage score says
    near = [Candidate("0", 0.95, match=MatchKind.NEAR, cover=0.1), Candidate("1", 0.2)]
    assert engine.decide_from(text, near).outcome is Outcome.ANSWER


def test_decision_bands() -> None:
    engine = _engine(thresholds=Thresholds(answer=0.9, suggest=0.5, min_cover=0.0))
    text = "people say the 5G mobile towers spread the coronavirus"

    def cands(*scores: float) -> list[Candidate]:
        return [Candidate(str(i), s) for i, s in enumerate(scores)]

    # a restatement of a known text answers; so does a high score that contradicts nothing,
    # in any pool; a high score that contradicts the claim (a number, a day, a name, polarity,
    # the predicate) or a cross-lingual one in a small pool (words not comparable) is offered
    restated = [Candidate("0", 0.95, match=MatchKind.NEAR), Candidate("1", 0.2)]
    assert engine.decide_from(text, restated).outcome is Outcome.ANSWER
    assert engine.decide_from(text, cands(0.95, 0.2)).outcome is Outcome.ANSWER
    contradicts = [Candidate("0", 0.95, agrees=False), Candidate("1", 0.2)]
    high = engine.decide_from(text, contradicts)
    assert high.outcome is Outcome.SUGGEST and [c.id for c in high.candidates] == ["0"]
    cross = [Candidate("0", 0.9999, lang="en"), Candidate("1", 0.2)]
    assert engine.decide_from(text, cross, "sw").outcome is Outcome.SUGGEST
    assert engine.decide_from(text, cross, "en").outcome is Outcome.ANSWER
    suggest = engine.decide_from(text, cands(0.7, 0.6, 0.3, 0.26, 0.1))
    assert suggest.outcome is Outcome.SUGGEST and [c.id for c in suggest.candidates] == [
        "0",
        "1",
        "2",
    ]
    assert suggest.confidence == 0.7
    queue = engine.decide_from(text, cands(0.4))
    assert queue.outcome is Outcome.QUEUE
    assert engine.decide_from(text, []) == Decision(Outcome.QUEUE, [], 0.0)


def test_concurrent_upserts_and_searches() -> None:
    engine = _engine()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(200):
                engine.upsert([IndexItem(f"w{i}", f"rumour number {i} about the water supply")])
                if i % 3 == 0:
                    engine.remove([f"w{i - 1}"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(200):
        engine.search("is the water supply poisoned")
    thread.join()
    assert not errors
    assert engine.search("rumour number 199 about the water supply")[0].id == "w199"
