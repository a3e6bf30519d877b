from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from matching.datasets import Query
from matching.ranker import FEATURES, LogisticRanker
from matching.training import Seen, Split, calibrate, cross_fitted, fold_of, trade_off


def _seen(score: float, right: bool, words: int = 8, duplicate: bool = False) -> Seen:
    return Seen((score, score / 2), (right, False), duplicate, words)


def test_calibrate_answers_most_within_precision_and_absent_constraints() -> None:
    # 100 queries with gold present: scores 0.0..0.99, top-1 right from 0.6, short one at 0.95
    present = [_seen(i / 100, i >= 60, 3 if i == 95 else 8) for i in range(100)]
    # 5% of gold-absent queries look like a match at 0.8
    absent = [_seen(0.5, False)] * 95 + [_seen(0.8, False)] * 5
    cal = calibrate(present, absent, target_precision=0.98, max_wrong=0.01)
    assert 0.8 < cal.answer <= 0.81
    assert cal.answer_precision == 1.0 and cal.wrong_when_absent == 0.0
    assert cal.answer_rate == 0.18  # 0.81..0.99, less the short message
    # the suggestion band: the gold is only offered (score / 2 >= t / 2) from 0.6 on
    assert 0.55 <= cal.suggest <= 0.6


def test_a_coverage_floor_is_kept_only_when_it_lets_more_through() -> None:
    # right answers cover half the claim; the gold-absent look-alikes share only its topic
    present = [Seen((0.7 + i / 1000, 0.1), (True, False), False, 8, True, 0.5) for i in range(90)]
    present += [Seen((0.3, 0.1), (False, False), False, 8, True, 0.5)] * 10
    absent = [Seen((0.9, 0.1), (False, False), False, 8, True, 0.1)] * 10
    absent += [Seen((0.2, 0.1), (False, False), False, 8, True, 0.1)] * 90
    plain = calibrate(present, absent)
    floored = calibrate(present, absent, covers=(0.0, 0.25))
    assert plain.min_cover == 0.0 and plain.answer_rate == 0.0  # 0.9 look-alikes: 10% wrong
    assert floored.min_cover == 0.25 and floored.answer_rate == 0.9
    assert floored.wrong_when_absent == 0.0 and floored.answer_precision == 1.0


def test_duplicates_are_answered_whatever_their_score() -> None:
    present = [_seen(0.1, True, duplicate=True), _seen(0.1, False)]
    row = trade_off(present, [], 0.9, 0.5)
    assert row["answered"] == 0.5 and row["precision"] == 1.0
    assert trade_off([_seen(0.1, False)], [], 0.9, 0.5)["precision"] is None


def test_logistic_ranker_learns_and_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 3] > 0).astype(float)
    ranker = LogisticRanker.fit(x, y)
    acc = ((ranker.predict(x) > 0.5) == y).mean()
    assert acc > 0.9
    path = tmp_path / "w.json"
    ranker.save(path)
    np.testing.assert_allclose(LogisticRanker.load(path).predict(x), ranker.predict(x))


def _dataset(root: Path, name: str, claims: list[str]) -> Split:
    """A canonical dataset whose queries restate its claims (query i answers claim i)."""
    folder = root / name / "canonical"
    folder.mkdir(parents=True)
    targets = [{"id": f"c{i}", "claim": claim, "title": None} for i, claim in enumerate(claims)]
    (folder / "targets.jsonl").write_text("\n".join(json.dumps(t) for t in targets))
    queries = [{"id": f"q{i}", "text": f"Is it true? {claim} Please check"}
               for i, claim in enumerate(claims)]
    (folder / "train.queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "train.qrels.tsv").write_text(
        "".join(f"q{i}\t0\tc{i}\t1\n" for i in range(len(claims))))
    return Split(folder, "train")


def test_cross_fitting_decides_every_query_of_every_split_once_with_and_without_its_gold(
    tmp_path: Path,
) -> None:
    claims = [f"The {place} market will close on {day} because of the {why}."
              for place, day, why in zip(
                  ["Gikomba", "Toi", "Kibuye", "Marikiti", "Kongowea", "Soko Mjinga"],
                  ["Monday", "Tuesday", "Friday", "Sunday", "Monday", "Friday"],
                  ["floods", "curfew", "cholera", "strike", "fire", "elections"], strict=True)]
    splits = [_dataset(tmp_path, "a", claims), _dataset(tmp_path, "b", claims[::-1])]
    ranker, present, absent = cross_fitted(
        splits, None, tmp_path / "cache", set(), dense=False, name="t", folds=3)
    # both datasets' queries, each decided once out of fold, with and without its gold
    assert len(present) == len(absent) == 2 * len(claims)
    assert sum(p.right[0] for p in present if p.scores) >= len(claims)
    assert not any(a.right and a.right[0] for a in absent)
    assert ranker.predict(np.zeros((1, len(FEATURES)))).shape == (1,)
    # one text falls in one fold, whichever dataset holds it
    same = [Query("x", "Is it true? The Toi market will close", None),
            Query("y", "is it TRUE?  the toi market will close", None)]
    assert fold_of(same[0], 5) == fold_of(same[1], 5)
