"""Do two texts say the same thing, or only talk about the same thing?

Near-duplicate and paraphrase signals cannot tell "5,000 shillings" from "50,000 shillings",
or "the vaccine causes infertility" from "the vaccine does not cause infertility". These small
checks compare what distinguishes claims of one topic: numbers (digits, thousands separators
ignored) and negation. They read normalised (case-folded) text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from matching.tokenise import NEGATIONS, content_words, stop_words

__all__ = ["Facts", "agree", "facts", "names", "negated", "numbers", "restates"]

_NUMBER_RE = re.compile(r"\d[\d,.]*\d|\d")
# \w does not match the vowel signs of Indic scripts: without the blocks, words break apart
_WORD_RE = re.compile(r"[\w\u0900-\u0dff]+", re.UNICODE)
# "no water", "hakuna maji": a determiner more often than the claim's polarity
_DETERMINERS = frozenset({"no", "none", "nothing", "nada", "ninguno", "hakuna"})
POLARITY = NEGATIONS - _DETERMINERS
_CAPITALISED_RE = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][\w'-]+", re.UNICODE)


@dataclass(frozen=True)
class Facts:
    """What tells one claim from another of its topic: numbers, polarity, names (folded)."""

    numbers: frozenset[str]
    negated: bool
    names: frozenset[str]


def names(clean: str) -> frozenset[str]:
    """Capitalised words that do not start a sentence (people, places, days, months), folded;
    stop words out. Scripts without case have none."""
    found = {m.group(0).casefold() for m in _CAPITALISED_RE.finditer(clean)}
    return frozenset(w for w in found if w not in stop_words("en") and len(w) > 1)


def facts(clean: str) -> Facts:
    """:class:`Facts` of a text through ``clean_text`` (case kept, for names)."""
    folded = clean.casefold()
    return Facts(numbers(folded), negated(folded), names(clean))


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
    return any(w in POLARITY for w in _WORD_RE.findall(normalised))


def agree(a: str, b: str) -> bool:
    """Same numbers and the same polarity (either both negated or neither)."""
    return numbers(a) == numbers(b) and negated(a) == negated(b)


MIN_RESTATED_WORDS = 4


def _same_word(wanted: str, seen: str) -> bool:
    if wanted == seen:
        return True
    return (
        len(wanted) >= 5
        and len(seen) >= 4
        and abs(len(seen) - len(wanted)) <= 2
        and SequenceMatcher(None, wanted, seen).ratio() >= 0.8
    )


def _negations(words: list[str]) -> int:
    return sum(1 for w in words if w in POLARITY)


def restates(message: str, text: str, lang: str | None = None) -> bool:
    """Does `message` repeat `text` (both normalised), give or take forwarding noise?

    Every content word of `text` is in the message in the same order, exactly or as a
    one-letter slip (words of 5+ letters, similarity >= 0.8); numbers agree and both have as
    many negations; the message is at most three times as long (a forward adds "share before
    they delete it", not a different story). This is the near-exact rule: it answers a
    re-forward of a known text whatever the pool size.
    """
    wanted = content_words(text, lang)
    if len(set(wanted)) < MIN_RESTATED_WORDS or not agree(message, text):
        return False
    words = _WORD_RE.findall(message)
    if len(words) > 3 * len(_WORD_RE.findall(text)) + 10:
        return False
    if _negations(words) != _negations(_WORD_RE.findall(text)):
        return False
    at = 0  # the view's words in their order: a forward keeps it, a different claim may not
    for w in wanted:
        while at < len(words) and not _same_word(w, words[at]):
            at += 1
        if at == len(words):
            return False
        at += 1
    return True
