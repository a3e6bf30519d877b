"""Which suggested items a resident is offered, by the languages they can read.

A candidate whose item exists neither in the resident's language nor in the language of the
message they sent (as its claim or as a stored translation) would reach them as a card in a
third language, matched only by a cross-lingual cosine: cross-lingual candidates run lower and
are often only the same topic. Such a candidate is offered only when it clears a stricter bar,
the engine's same-language answer threshold; every other candidate is offered as before, and
its card is shown in the resident's language whenever the item has it (``bot.texts.replies``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.texts.catalogue import resolve_language
from domain.models import KnowledgeItem
from matching import Candidate

__all__ = ["item_languages", "readable_offers"]


def item_languages(item: KnowledgeItem) -> set[str]:
    """The languages an item can be shown in: its claim's and its stored translations'."""
    codes = {item.language or ""} | set((item.translations or {}).keys())
    return {_base(c) for c in codes if c}


def readable_offers(
    candidates: Sequence[Candidate],
    items: Sequence[KnowledgeItem],
    resident_language: str,
    message_language: Callable[[], str | None],
    bar: float,
) -> tuple[list[Candidate], list[KnowledgeItem]]:
    """The candidates (and their items, in the same order) worth offering.

    ``message_language`` is only called when some item is not in the resident's language
    (detecting a language costs more than the common case needs).
    """
    by_id = {str(item.id): item for item in items}
    readable = {_base(resident_language), resolve_language(resident_language)}
    asked = False
    kept: list[Candidate] = []
    for cand in candidates:
        item = by_id.get(cand.id)
        if item is None:
            continue
        langs = item_languages(item)
        if not langs & readable and not asked:
            asked = True
            detected = message_language()
            if detected:
                readable.add(_base(detected))
        if langs & readable or cand.score >= bar:
            kept.append(cand)
    return kept, [by_id[c.id] for c in kept]


def _base(code: str) -> str:
    return code.split("-")[0].split("_")[0].lower()
