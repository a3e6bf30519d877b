"""Rendering verdicts, candidate lists and prompts as outbound messages, in a language.

Written for residents who read slowly or poorly: the verdict comes first, with a symbol and a
plain word; the rumour's words only ever appear on the verdict's line (a cropped screenshot
cannot re-spread them); the publisher and a local date are always there. An answer with no text
in the resident's language says so in their language and is then shown whole in the language it
exists in: never a verdict in one language glued to a claim in another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.texts.buttons import (
    ChooseLanguage,
    Feedback,
    NoneOfThese,
    Pick,
    Subscribe,
    Unsubscribe,
)
from bot.texts.catalogue import TOPICS, languages, resolve_language, text, topic_label
from domain.messages import Button, OutboundMessage
from domain.models import KnowledgeItem

BUTTON_LABEL_CHARS = 60
CLAIM_CHARS = 300
SYMBOLS = {
    "false": "❌",
    "misleading": "⚠️",
    "missing_context": "⚠️",
    "true": "✅",
    "unverified": "❔",
}


def shorten(value: str, limit: int) -> str:
    """One line (new lines collapsed) of at most `limit` characters."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _translation(item: KnowledgeItem, language: str) -> dict[str, str]:
    found = (item.translations or {}).get(language)
    return found if isinstance(found, dict) else {}


def readable_in(item: KnowledgeItem, language: str) -> bool:
    """Whether `item` can be read in `language`: its own language, or a translation."""
    translation = _translation(item, language)
    return resolve_language(item.language) == language or bool(
        translation.get("claim") or translation.get("explanation")
    )


def claim_in(item: KnowledgeItem, language: str) -> str | None:
    """The claim's words in `language`, or None when it exists only in another language."""
    if resolve_language(item.language) == language:
        return item.claim
    return _translation(item, language).get("claim") or None


def text_language(item: KnowledgeItem, language: str) -> str:
    """The language `item` is shown in to a reader of `language`."""
    return language if readable_in(item, language) else resolve_language(item.language)


def local_date(value: datetime | None, language: str) -> str:
    """ "2 Oct 2026" in the reader's words (month names from the catalogue)."""
    if value is None:
        return ""
    months = text("months", language).split()
    month = months[value.month - 1] if len(months) == 12 else f"{value.month:02d}"
    return text("date_format", language, day=str(value.day), month=month, year=str(value.year))


def verdict_line(item: KnowledgeItem, language: str, claim_chars: int = CLAIM_CHARS) -> str:
    """The verdict with its symbol and, when its words exist in `language`, the claim.

    Just the verdict when the claim exists only in another language: the answer quotes the
    resident's own message anyway, and two languages are never glued on one line."""
    symbol = SYMBOLS.get(item.verdict, "❔")
    word = text(f"verdict.{item.verdict}", language)
    claim = claim_in(item, language)
    if not claim:
        return f"{symbol} {word}"
    return text(
        "verdict_line", language, symbol=symbol, verdict=word, claim=shorten(claim, claim_chars)
    )


def render_answer(item: KnowledgeItem, language: str) -> str:
    """Verdict and claim, explanation, publisher and date (and the link when there is one)."""
    shown = text_language(item, language)
    _, explanation = item.text_in(shown)
    parts = []
    if shown != language:
        parts.append(text("only_in_language", language, name=text("language_name", shown)))
    parts.append(verdict_line(item, shown))
    if explanation.strip():
        parts.append(explanation.strip())
    publisher = item.publisher or text("unknown_publisher", shown)
    date = local_date(item.published_at or item.updated_at, shown)
    source = text("source_line", shown, publisher=publisher, date=date).rstrip(" ,،")
    if item.source_url:
        source = f"{source}\n{item.source_url}"
    parts.append(source)
    return "\n\n".join(parts)


def feedback_buttons(request_id: int, language: str) -> tuple[Button, ...]:
    return (
        Button(text("feedback_yes", language), Feedback(request_id, True).encode()),
        Button(text("feedback_no", language), Feedback(request_id, False).encode()),
    )


def answer_message(
    chat_id: str, item: KnowledgeItem, request_id: int, language: str, header: str | None = None
) -> OutboundMessage:
    body = render_answer(item, language)
    if header:
        body = f"{header}\n\n{body}"
    body = f"{body}\n\n{text('feedback_question', language)}"
    return OutboundMessage(
        chat_id=chat_id,
        text=body,
        buttons=feedback_buttons(request_id, language),
        language=language,
        template="notify_answered" if header else None,
        template_params=(shorten(body, 900),) if header else (),
    )


def claim_language(item: KnowledgeItem, language: str) -> str:
    """The language a candidate's claim is shown in to a reader of `language`."""
    return language if claim_in(item, language) else resolve_language(item.language)


def candidate_line(number: int, item: KnowledgeItem, language: str) -> str:
    """A numbered candidate with its verdict, its language named when not the reader's."""
    shown = claim_language(item, language)
    line = verdict_line(item, shown)
    if shown != language:
        line = f"({text('language_name', shown)}) {line}"
    return f"{number}. {line}"


def suggestion_message(
    chat_id: str, request_id: int, items: Sequence[KnowledgeItem], language: str
) -> OutboundMessage:
    """Each candidate in full, numbered, with its verdict; the buttons carry the numbers."""
    lines = [candidate_line(n, item, language) for n, item in enumerate(items, start=1)]
    prompt, pick = text("suggest", language), text("suggest_pick", language)
    body = "\n\n".join([prompt, "\n".join(lines), pick])
    buttons = [
        Button(
            shorten(f"{n}. {item.text_in(claim_language(item, language))[0]}", BUTTON_LABEL_CHARS),
            Pick(request_id, item.id).encode(),
        )
        for n, item in enumerate(items, start=1)
    ]
    buttons.append(Button(text("none_of_these", language), NoneOfThese(request_id).encode()))
    return OutboundMessage(chat_id=chat_id, text=body, buttons=tuple(buttons), language=language)


def language_message(chat_id: str, key: str, language: str) -> OutboundMessage:
    buttons = tuple(
        Button(text("language_name", code), ChooseLanguage(code).encode()) for code in languages()
    )
    return OutboundMessage(
        chat_id=chat_id, text=text(key, language), buttons=buttons, language=language
    )


def topic_message(
    chat_id: str,
    key: str,
    payload: type[Subscribe] | type[Unsubscribe],
    language: str,
    topics: Sequence[str] = TOPICS,
) -> OutboundMessage:
    buttons = tuple(Button(topic_label(t, language), payload(t).encode()) for t in topics)
    return OutboundMessage(
        chat_id=chat_id, text=text(key, language), buttons=buttons, language=language
    )


def plain(chat_id: str, key: str, language: str, **values: str) -> OutboundMessage:
    return OutboundMessage(chat_id=chat_id, text=text(key, language, **values), language=language)
