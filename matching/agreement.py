"""Do two texts say the same thing, or only talk about the same thing?

Near-duplicate and paraphrase signals cannot tell "5,000 shillings" from "50,000 shillings",
or "the vaccine causes infertility" from "the vaccine does not cause infertility". These small
checks compare what distinguishes claims of one topic: numbers (digits, thousands separators
ignored) and negation. They read normalised (case-folded) text.
"""

from __future__ import annotations

import re

from matching.tokenise import NEGATIONS

__all__ = ["agree", "negated", "numbers"]

_NUMBER_RE = re.compile(r"\d[\d,.]*\d|\d")
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def numbers(normalised: str) -> frozenset[str]:
    """The numbers written in digits, as digit strings ("5,000" and "5000" are one number)."""
    out = set()
    for raw in _NUMBER_RE.findall(normalised):
        whole = raw.replace(",", "")
        if "." in whole:  # 20.00 (a time), 1.5 (a decimal): keep what is before a zero tail
            whole = whole.rstrip("0").rstrip(".") or "0"
        out.add(whole)
    return frozenset(out)


def negated(normalised: str) -> bool:
    return any(w in NEGATIONS for w in _WORD_RE.findall(normalised))


def agree(a: str, b: str) -> bool:
    """Same numbers and the same polarity (either both negated or neither)."""
    return numbers(a) == numbers(b) and negated(a) == negated(b)
