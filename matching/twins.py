"""Twins: fact-checks that answer the same claim (one answer for calibration and "gold removed").

Pools hold several articles on one claim (Snopes re-checks, a statement and its correction).
Answering with a twin of the labelled fact-check is a right answer, and removing the gold while
its twin stays is not "gold absent". Twins here: the same canonical URL, the same normalised
words, a near-identical claim with the same numbers, polarity and names (MinHash,
:data:`matching.dedup.NEAR_DUPLICATE`, of the words; or :data:`SAME_TERMS` of the stemmed
content words, so "Photographs show" and "Photograph shows", "hand blowers" and "hand dryers"
in one sentence are one claim), or a pair a dataset lists (``twins.tsv``: ``id<TAB>id`` per line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from matching.agreement import agree, names
from matching.datasets import Target
from matching.dedup import NEAR_DUPLICATE, DedupIndex, dedup_key
from matching.normalise import canonical_url, clean_text, normalise_text
from matching.tokenise import tokenise

__all__ = ["SAME_TERMS", "TwinGroups", "read_twin_list", "twin_groups", "with_twins"]

TwinGroups = dict[str, frozenset[str]]


_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _same_names(a: str, b: str) -> bool:
    """No capitalised word (a name, anywhere in the sentence) in one claim only:
    "Walmart is offering a coupon" and "Kroger is offering a coupon" are not twins."""
    wa, wb = set(_WORD_RE.findall(a)), set(_WORD_RE.findall(b))
    fa, fb = {w.casefold() for w in wa}, {w.casefold() for w in wb}
    only = {w for w in wa if w.casefold() not in fb} | {w for w in wb if w.casefold() not in fa}
    return not any(w[:1].isupper() or w[:1].isdigit() for w in only)


# Jaccard of two claims' stemmed content words above which they are one claim (with the same
# numbers, polarity and names): "hand blowers" / "hand dryers" in a claim of ten terms
SAME_TERMS = 0.8
_RARE_KEYS = 3  # candidate pairs share one of each claim's rarest terms


# an ordinal in one claim only is another event ("the third night" / "the fourth night")
_ORDINALS = frozenset(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    last next""".split()
)
_ORDINAL_RE = re.compile(r"^\d+(?:st|nd|rd|th)$")


def _cased(text: str) -> bool:
    """Written in a script with capitals (names can be told): without case (Devanagari,
    Bengali, Arabic) two claims naming different people look alike, so no stemmed-word twins."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.lower() != c.upper() for c in letters) >= 0.9 * len(letters)


def _lower_words(claims: Sequence[str]) -> set[str]:
    """Words the pool writes in lower case somewhere (common words, not names)."""
    return {w for c in claims for w in _WORD_RE.findall(c) if w.islower()}


def _names_agree(a: str, b: str, common: set[str]) -> bool:
    """No name, number or ordinal in one claim only. A name is a capitalised word, unless the
    pool writes it in lower case elsewhere (then a capital opening a sentence is not a name:
    "Actor Adam Sandler died" and "Adam Sandler died" name the same people; "Walmart" and
    "Kroger" are names)."""
    wa, wb = set(_WORD_RE.findall(a)), set(_WORD_RE.findall(b))
    fa, fb = {w.casefold() for w in wa}, {w.casefold() for w in wb}
    only = {w for w in wa if w.casefold() not in fb} | {w for w in wb if w.casefold() not in fa}
    inner = names(clean_text(a)) | names(clean_text(b))
    return not any(
        w[:1].isdigit()
        or w.casefold() in _ORDINALS
        or _ORDINAL_RE.match(w.casefold())
        or w.isupper()  # an acronym or a letter ("Beagle.Q" is not "Beagle")
        or (w[:1].isupper() and (w.casefold() in inner or w.casefold() not in common))
        for w in only
    )


def _same_terms_pairs(targets: Sequence[Target], keys: Sequence[str]) -> Iterator[tuple[int, int]]:
    """Pairs of claims whose stemmed content words are near-identical (:data:`SAME_TERMS`),
    with the same numbers, polarity and names."""
    terms = [
        frozenset(tokenise(normalise_text(t.claim), t.lang)) if _cased(t.claim) else frozenset()
        for t in targets
    ]
    df: dict[str, int] = {}
    for ts in terms:
        for w in ts:
            df[w] = df.get(w, 0) + 1
    by_term: dict[str, list[int]] = {}
    for i, ts in enumerate(terms):
        if len(ts) >= 3:
            for w in sorted(ts, key=lambda w: (df[w], w))[:_RARE_KEYS]:
                by_term.setdefault(w, []).append(i)
    common = _lower_words([t.claim for t in targets])
    seen: set[tuple[int, int]] = set()
    for ids in by_term.values():
        if len(ids) > 200:  # a common word: not a key
            continue
        for x, i in enumerate(ids):
            for j in ids[x + 1 :]:
                if (i, j) in seen:
                    continue
                seen.add((i, j))
                a, b = terms[i], terms[j]
                if (
                    len(a & b) >= SAME_TERMS * len(a | b)
                    and agree(keys[i], keys[j])
                    and _names_agree(targets[i].claim, targets[j].claim, common)
                ):
                    yield i, j


def read_twin_list(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and parts[1]:
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def twin_groups(targets: Sequence[Target], listed: Iterable[tuple[str, str]] = ()) -> TwinGroups:
    """Each target id -> the ids answering the same claim (itself included)."""
    parent = {t.id: t.id for t in targets}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        if a in parent and b in parent:
            parent[find(a)] = find(b)

    first_of: dict[str, str] = {}
    keys = [dedup_key(normalise_text(t.claim)) for t in targets]
    for t, key in zip(targets, keys, strict=True):
        url = canonical_url(t.url) if t.url else ""  # "" for a relative link: no twin by URL
        for k in (f"url:{url}" if url else "", f"text:{key}" if key else ""):
            if k:
                union(t.id, first_of.setdefault(k, t.id))
    index = DedupIndex()
    index.add(list(range(len(targets))), keys)
    for i, key in enumerate(keys):
        near, _ = index.near(key, NEAR_DUPLICATE)
        for j in near.tolist():
            if j != i and agree(key, keys[j]) and _same_names(targets[i].claim, targets[j].claim):
                union(targets[i].id, targets[j].id)
    for i, j in _same_terms_pairs(targets, keys):
        union(targets[i].id, targets[j].id)
    for a, b in listed:
        union(a, b)
    members: dict[str, set[str]] = {}
    for t in targets:
        members.setdefault(find(t.id), set()).add(t.id)
    shared = {root: frozenset(ids) for root, ids in members.items()}  # one set per group
    return {t.id: shared[find(t.id)] for t in targets}


def with_twins(gold: Iterable[str], twins: TwinGroups) -> set[str]:
    out: set[str] = set()
    for g in gold:
        out |= twins.get(g, frozenset({g}))
    return out
