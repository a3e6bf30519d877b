"""Rendering verdicts, candidate lists and prompts as outbound messages, in a language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation.catalogue import TOPICS, languages, text, topic_label
from domain.messages import Button, OutboundMessage
from domain.models import KnowledgeItem

BUTTON_LABEL_CHARS = 60
CLAIM_CHARS = 300


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def render_answer(item: KnowledgeItem, language: str) -> str:
    """Verdict, claim, short explanation, source and date, in `language` where we have it."""
    claim, explanation = item.text_in(language)
    values = {
        "verdict": text(f"verdict.{item.verdict}", language),
        "claim": shorten(claim, CLAIM_CHARS),
        "explanation": explanation.strip(),
    }
    if not item.source_url:
        return text("answer_no_source", language, **values).strip()
    source = item.source_url if not item.publisher else f"{item.publisher} – {item.source_url}"
    date = item.published_at.date().isoformat() if item.published_at else "—"
    return text("answer", language, source=source, date=date, **values).strip()


def feedback_buttons(request_id: int, language: str) -> tuple[Button, ...]:
    return (
        Button(text("feedback_yes", language), f"fb:{request_id}:1"),
        Button(text("feedback_no", language), f"fb:{request_id}:0"),
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


def suggestion_message(
    chat_id: str, request_id: int, items: Sequence[KnowledgeItem], language: str
) -> OutboundMessage:
    buttons = [
        Button(
            shorten(item.text_in(language)[0], BUTTON_LABEL_CHARS), f"pick:{request_id}:{item.id}"
        )
        for item in items
    ]
    buttons.append(Button(text("none_of_these", language), f"none:{request_id}"))
    return OutboundMessage(
        chat_id=chat_id, text=text("suggest", language), buttons=tuple(buttons), language=language
    )


def language_message(chat_id: str, key: str, language: str) -> OutboundMessage:
    buttons = tuple(Button(text("language_name", code), f"lang:{code}") for code in languages())
    return OutboundMessage(
        chat_id=chat_id, text=text(key, language), buttons=buttons, language=language
    )


def topic_message(
    chat_id: str, key: str, prefix: str, language: str, topics: Sequence[str] = TOPICS
) -> OutboundMessage:
    buttons = tuple(Button(topic_label(t, language), f"{prefix}:{t}") for t in topics)
    return OutboundMessage(
        chat_id=chat_id, text=text(key, language), buttons=buttons, language=language
    )


def plain(chat_id: str, key: str, language: str, **values: str) -> OutboundMessage:
    return OutboundMessage(chat_id=chat_id, text=text(key, language, **values), language=language)
