"""One phrase per intent per language for the tests, taken from the training data itself.

Both parsers must get their own training phrases right; the held-out set (nlu/eval/) is what
measures generalisation, and is not a test (its accuracy is a figure, not a pass mark).
"""

from __future__ import annotations

from nlu.training_data import load_examples
from nlu.types import SUPPORTED_LANGUAGES, Intent


def first_phrases() -> list[tuple[str, Intent, str]]:
    """(language, intent, text) for the first example of every intent in every language."""
    seen: dict[tuple[str, str], str] = {}
    for example in load_examples():
        seen.setdefault((example.language, example.intent), example.text)
    return [
        (language, intent, seen[(language, intent.value)])
        for language in SUPPORTED_LANGUAGES
        for intent in Intent
    ]


PHRASES = first_phrases()
PHRASE_IDS = [f"{language}-{intent.value}" for language, intent, _ in PHRASES]
LONG_CHAIN = (
    "FORWARDED MANY TIMES. Dear all, the water board has announced that from tomorrow the tap "
    "water in all districts will contain a new chemical that makes people sick, so do not drink "
    "it or give it to children, buy bottled water only and share this with every group you "
    "are in before it is deleted, thank you and God bless. "
)
EDGE_CASES = {
    "empty": "",
    "spaces": "   \n\t ",
    "emoji": "🙏🙏🔥",
    "long": ("breaking news the river is poisoned " * 400)[:10_000],
    "html": "<script>alert('x')</script><b>is this true?</b>",
    "control": "\x00\x1b[31mred\u200b\ufeff",
    "surrogate": "\ud800 lone surrogate",
}
