"""Choose the built-in classifier's confidence threshold by cross-validation.

    python -m nlu.tune

Five-fold cross-validated probabilities on the training data; for each candidate threshold,
messages whose top non-claim intent falls below it become claims. A claim mistaken for small
talk costs twice as much as the reverse (a rumour left unchecked is worse than a fact-check
search for "thanks"). Prints the table and the threshold to put in `nlu/builtin.py`: the
highest one within TOLERANCE of the lowest error.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from nlu.builtin import decide, make_pipeline, normalise
from nlu.training_data import load_examples
from nlu.types import Intent

CANDIDATES = tuple(round(0.05 * i, 2) for i in range(1, 17))
CLAIM_MISSED_COST = 2.0
# The closed-world CV cannot see open-world messages (claims about subjects the data never
# mentions), which a higher threshold protects: take the highest threshold within this much
# of the lowest weighted error.
TOLERANCE = 0.01


def cross_validated_probabilities(seed: int = 7) -> tuple[list[str], list[str], np.ndarray]:
    """Texts, gold labels and out-of-fold class probabilities (columns in sorted label order)."""
    examples = load_examples()
    texts = [normalise(e.text) for e in examples]
    gold = [e.intent for e in examples]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(
        make_pipeline(), texts, gold, cv=folds, method="predict_proba"
    )
    return texts, gold, np.asarray(probabilities)


def cost(texts: list[str], gold: list[str], probabilities: np.ndarray, threshold: float) -> float:
    labels = sorted(set(gold))
    total = 0.0
    for text, truth, row in zip(texts, gold, probabilities, strict=True):
        predicted, _ = decide(list(row), labels, text, threshold)
        if predicted == truth:
            continue
        total += CLAIM_MISSED_COST if truth == Intent.CHECK_CLAIM else 1.0
    return total / len(gold)


def main() -> None:
    texts, gold, probabilities = cross_validated_probabilities()
    scores = {t: cost(texts, gold, probabilities, t) for t in CANDIDATES}
    for threshold, value in scores.items():
        print(f"threshold {threshold:.2f}  weighted error {value:.4f}")
    lowest = min(scores.values())
    best = max(t for t, value in scores.items() if value <= lowest + TOLERANCE)
    print(f"best threshold: {best:.2f}")


if __name__ == "__main__":
    main()
