"""The built-in intent classifier: no extra service, trained from the Rasa data at start-up.

Character n-gram TF-IDF (robust to typos, spelling variants and scripts without clear word
boundaries) next to word n-grams, feeding a linear SVM. The SVM's margins are turned into
probabilities by Platt scaling fitted on cross-validated margins (`ensemble=False`), so the
final model still sees all the data. Logistic regression scored no better on this data and
took ten times as long to fit; this trains in well under a second.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from nlu.entities import Gazetteer
from nlu.language import detect_language, warm_up
from nlu.training_data import NLU_DIR, Example, load_examples
from nlu.types import Intent, ParseResult

# Below this probability the top intent is not trusted and the message is treated as a claim.
# Tuned by `python -m nlu.tune` (cross-validation on the training data); see docs/nlu.md.
CONFIDENCE_THRESHOLD = 0.25
# A pasted chain message is long; only a very sure reading makes it anything but a claim.
LONG_MESSAGE_WORDS = 25
LONG_MESSAGE_THRESHOLD = 0.85
MAX_CLASSIFIED_CHARS = 2000
# Readings remembered per exact text: greetings, thanks, commands and pasted chain messages
# arrive thousands of times word for word, and one reading costs milliseconds of CPU.
PARSE_CACHE_SIZE = 4096
PARSE_CACHE_MAX_CHARS = 1000
_URL = re.compile(r"https?://\S+|www\.\S+")
_MARKUP = re.compile(r"<[^>]{0,200}>")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-cased NFKC text with links replaced by a marker and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text[:MAX_CLASSIFIED_CHARS]).casefold()
    text = _MARKUP.sub(" ", _URL.sub(" httplink ", text))
    return _WHITESPACE.sub(" ", text).strip()


def make_pipeline() -> Pipeline:
    """A fresh, untrained classifier pipeline (also used by cross-validation)."""
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
        ]
    )
    classifier = CalibratedClassifierCV(LinearSVC(C=1.0), method="sigmoid", cv=3, ensemble=False)
    return Pipeline([("features", features), ("classifier", classifier)])


def decide(
    probabilities: Sequence[float], labels: Sequence[str], text: str, threshold: float
) -> tuple[Intent, float]:
    """The intent to act on: the top label, unless unsure or a long paste, then a claim."""
    best = max(range(len(labels)), key=lambda i: probabilities[i])
    intent = Intent.from_name(labels[best]) or Intent.CHECK_CLAIM
    confidence = float(probabilities[best])
    if intent is Intent.CHECK_CLAIM:
        return intent, confidence
    is_long = len(text.split()) > LONG_MESSAGE_WORDS
    if confidence < threshold or (is_long and confidence < LONG_MESSAGE_THRESHOLD):
        claim = labels.index(Intent.CHECK_CLAIM) if Intent.CHECK_CLAIM in labels else -1
        return Intent.CHECK_CLAIM, float(probabilities[claim]) if claim >= 0 else 0.0
    return intent, confidence


class BuiltinParser:
    """Parses with a classifier trained, at construction, from the Rasa NLU data."""

    source = "builtin"

    def __init__(
        self,
        data_path: Path = NLU_DIR,
        threshold: float = CONFIDENCE_THRESHOLD,
        cache_size: int = PARSE_CACHE_SIZE,
    ) -> None:
        examples = load_examples(data_path)
        self.threshold = threshold
        self._pipeline = train(examples)
        self._labels: list[str] = [str(c) for c in self._pipeline.classes_]
        self._gazetteer = Gazetteer(examples)
        self._symbols = symbol_intents(examples)
        self._readings: OrderedDict[tuple[str, float], ParseResult] = OrderedDict()
        self._readings_lock = threading.Lock()
        self.cache_size = cache_size  # 0: every text is read afresh (to measure the classifier)
        warm_up()

    async def parse(self, text: str) -> ParseResult:
        return self.parse_now(text)

    def parse_now(self, text: str) -> ParseResult:
        """The synchronous parse (pure CPU, a few milliseconds; remembered per text); never
        raises."""
        text = text if isinstance(text, str) else str(text)
        remember = self.cache_size > 0 and len(text) <= PARSE_CACHE_MAX_CHARS
        key = (text, self.threshold)
        if remember:
            with self._readings_lock:
                known = self._readings.get(key)
                if known is not None:
                    self._readings.move_to_end(key)
            if known is not None:
                return replace(known, entities=dict(known.entities))
        try:
            reading = self._parse(text)
        except Exception:  # noqa: BLE001 - a resident's message must always get a reading
            return ParseResult(Intent.CHECK_CLAIM, 0.0, {}, None, self.source)
        if remember:
            with self._readings_lock:
                self._readings[key] = replace(reading, entities=dict(reading.entities))
                if len(self._readings) > self.cache_size:
                    self._readings.popitem(last=False)
        return reading

    def _parse(self, text: str) -> ParseResult:
        clean = normalise(text)
        language = detect_language(text)
        if not any(char.isalnum() for char in clean):
            intent = self._symbols.get(symbols_of(clean), Intent.CHECK_CLAIM)
            confidence = 1.0 if intent is not Intent.CHECK_CLAIM else 0.0
            return ParseResult(intent, confidence, {}, language, self.source)
        probabilities = self._pipeline.predict_proba([clean])[0]
        intent, confidence = decide(list(probabilities), self._labels, clean, self.threshold)
        entities = self._gazetteer.find(clean)
        return ParseResult(intent, round(confidence, 4), entities, language, self.source)


def symbols_of(text: str) -> frozenset[str]:
    """The pictographs of a text, without skin tones or variation selectors: 👍🏽👍 → {👍}."""
    return frozenset(char for char in text if unicodedata.category(char) == "So")


def symbol_intents(examples: Sequence[Example]) -> dict[frozenset[str], Intent]:
    """Emoji-only training lines ("👍" → feedback_positive), looked up rather than classified:
    character n-grams learn little from one symbol, and an unknown emoji should stay a claim."""
    table: dict[frozenset[str], Intent] = {}
    for example in examples:
        intent = Intent.from_name(example.intent)
        if intent and not any(char.isalnum() for char in example.text):
            table[symbols_of(example.text)] = intent
    return table


def train(examples: Sequence[Example]) -> Pipeline:
    """A classifier fitted on `examples`."""
    pipeline = make_pipeline()
    pipeline.fit([normalise(e.text) for e in examples], [e.intent for e in examples])
    return pipeline
