from __future__ import annotations

import numpy as np

from matching.ranker import FEATURES, LogisticRanker
from matching.training import calibrate


def test_calibrate_respects_precision_and_absent_constraints() -> None:
    # 100 queries with gold present: scores 0.0..0.99, top-1 correct above 0.6, short ones at 0.95
    present = [(i / 100, i >= 60, i >= 40, 3 if i == 95 else 8) for i in range(100)]
    absent = [(0.5, 8)] * 95 + [(0.8, 8)] * 5  # 5% of gold-absent queries look like a match at 0.8
    cal = calibrate(present, absent, target_precision=0.98, max_wrong=0.01)
    assert 0.8 < cal.answer <= 0.81
    assert cal.answer_precision == 1.0 and cal.wrong_when_absent == 0.0
    assert 0.3 <= cal.suggest <= 0.4


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
