from __future__ import annotations

from collections import Counter

from nlu.evaluate import load_cases
from nlu.training_data import load_examples, parse_nlu_yaml, strip_annotations
from nlu.types import SUPPORTED_LANGUAGES, Intent


def test_strip_annotations_keeps_text_and_entities() -> None:
    text, spans = strip_annotations(
        'is [maji]{"entity": "topic", "value": "water"} safe in [Kisumu](city)?'
    )
    assert text == "is maji safe in Kisumu?"
    assert [(s.entity, s.text, s.value) for s in spans] == [
        ("topic", "maji", "water"),
        ("city", "Kisumu", "Kisumu"),
    ]


def test_parse_nlu_yaml_reads_intent_blocks_only() -> None:
    source = (
        "version: '3.1'\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - [hello](x)\n"
        "- synonym: water\n  examples: |\n    - maji\n"
    )
    examples = list(parse_nlu_yaml(source, "en"))
    assert [(e.intent, e.text) for e in examples] == [("greet", "hi"), ("greet", "hello")]


def test_every_intent_has_examples_in_every_language() -> None:
    counts = Counter((e.language, e.intent) for e in load_examples())
    for language in SUPPORTED_LANGUAGES:
        for intent in Intent:
            assert counts[(language, intent.value)] >= 15, (language, intent)


def test_romanised_hindi_is_in_the_training_data() -> None:
    hindi = [e.text for e in load_examples() if e.language == "hi"]
    assert sum(text.isascii() for text in hindi) >= 100


def test_heldout_set_is_separate_and_big_enough() -> None:
    training = {e.text.casefold() for e in load_examples()}
    cases = load_cases()
    assert not [c.text for c in cases if c.text.casefold() in training]
    per_group = Counter(c.group for c in cases)
    assert set(SUPPORTED_LANGUAGES) <= set(per_group)
    assert min(per_group.values()) >= 20
