from __future__ import annotations

import time

import pytest

from nlu import BuiltinParser, Intent, ParseResult
from nlu.builtin import decide, train
from nlu.training_data import load_examples

from .samples import EDGE_CASES, LONG_CHAIN, PHRASE_IDS, PHRASES


@pytest.mark.parametrize(("language", "intent", "text"), PHRASES, ids=PHRASE_IDS)
async def test_each_intent_in_each_language(
    builtin_parser: BuiltinParser, language: str, intent: Intent, text: str
) -> None:
    result = await builtin_parser.parse(text)
    assert result.intent is intent
    assert result.source == "builtin"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("is this true??", Intent.CHECK_CLAIM),
        ("stop sending me these", Intent.UNSUBSCRIBE),
        ("habari, nataka kujiunga", Intent.SUBSCRIBE),
        ("धन्यवाद", Intent.THANKS),
        ("dhanyavaad", Intent.THANKS),
    ],
)
async def test_the_issues_examples(
    builtin_parser: BuiltinParser, text: str, intent: Intent
) -> None:
    assert (await builtin_parser.parse(text)).intent is intent


async def test_reports_language_and_entities(builtin_parser: BuiltinParser) -> None:
    result = await builtin_parser.parse("tafadhali jibu kwa Kiswahili")
    assert result.intent is Intent.CHANGE_LANGUAGE
    assert result.entities == {"language": "sw"}
    assert result.language == "sw"
    claim = await builtin_parser.parse("wanasema maji ya bomba yana sumu, ni kweli?")
    assert claim.entities.get("topic") == "water"


async def test_a_long_chain_message_is_a_claim(builtin_parser: BuiltinParser) -> None:
    result = await builtin_parser.parse(LONG_CHAIN)
    assert result.intent is Intent.CHECK_CLAIM


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
async def test_odd_input_gets_a_reading(builtin_parser: BuiltinParser, text: str) -> None:
    result = await builtin_parser.parse(text)
    assert isinstance(result, ParseResult)
    assert 0.0 <= result.confidence <= 1.0


async def test_empty_and_emoji_only_fall_back_to_claim(builtin_parser: BuiltinParser) -> None:
    assert (await builtin_parser.parse("")).intent is Intent.CHECK_CLAIM
    assert (await builtin_parser.parse("🔥🔥")).intent is Intent.CHECK_CLAIM
    assert (await builtin_parser.parse("👍🏽 👍")).intent is Intent.FEEDBACK_POSITIVE
    assert (await builtin_parser.parse("🙏")).intent is Intent.THANKS


def test_low_confidence_becomes_a_claim() -> None:
    labels = ["check_claim", "greet", "thanks"]
    assert decide([0.1, 0.5, 0.4], labels, "hi", threshold=0.3) == (Intent.GREET, 0.5)
    assert decide([0.3, 0.35, 0.35], labels, "hi", threshold=0.4) == (Intent.CHECK_CLAIM, 0.3)
    long_text = "word " * 30
    assert decide([0.1, 0.8, 0.1], labels, long_text, threshold=0.3)[0] is Intent.CHECK_CLAIM
    assert decide([0.0, 0.95, 0.05], labels, long_text, threshold=0.3)[0] is Intent.GREET


def test_trains_fast() -> None:
    """CPU time, not wall time: the budget is ours, however busy the test machine is."""
    examples = load_examples()
    started = time.process_time()
    train(examples)
    assert time.process_time() - started < 2.0
