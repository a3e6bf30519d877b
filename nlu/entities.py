"""Entities for the built-in parser: a gazetteer of the spans annotated in the training data.

Every `[maji]{"entity": "topic", "value": "water"}` in the Rasa data teaches both Rasa's DIET
and this gazetteer, so "maji" is found as topic "water" here too, with no second list to keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nlu.training_data import Example


class Gazetteer:
    """Finds annotated surface forms (whole words, case-insensitive) in new text."""

    def __init__(self, examples: Iterable[Example]) -> None:
        forms: dict[str, tuple[str, str]] = {}
        for example in examples:
            for span in example.entities:
                forms.setdefault(span.text.casefold(), (span.entity, span.value))
        self._forms = forms
        alternatives = sorted(forms, key=len, reverse=True)  # longest form wins
        body = "|".join(re.escape(form) for form in alternatives) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def find(self, text: str) -> dict[str, str]:
        """The first value found for each entity type, e.g. {"topic": "water"}."""
        found: dict[str, str] = {}
        for match in self._pattern.finditer(text.casefold()):
            entity, value = self._forms[match.group(0)]
            found.setdefault(entity, value)
        return found
