"""A published answer's share card as a picture to send: with a broadcast, in a group's short
reply, on the public channel, and offered to a resident after an answer.

The card goes as a link to `/claims/{id}/card.png` that the platform fetches (Telegram's
sendPhoto and WhatsApp's image messages both take a public URL), so an outbox row carries a
reference, never bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sharing.content import TEXT_LIMITS, card_languages, share_source, share_text
from bot.texts.catalogue import resolve_language, text
from bot.texts.replies import shorten
from domain.messages import Image, OutboundMessage
from domain.models import Answer, KnowledgeItem, OutboxKind
from domain.outbox import enqueue
from domain.settings import Settings
from factcheck_connectors.feeds import page_url

if TYPE_CHECKING:
    from bot.texts.turn import Turn

ALT_CHARS = 200
PICTURE_CHANNELS = frozenset({"telegram", "whatsapp"})  # the web chat shows no pictures


async def published_answer_id(session: AsyncSession, item_id: int) -> int | None:
    """The latest published answer that `item_id` is the knowledge item of (cards exist only
    for published answers), or None."""
    found: int | None = await session.scalar(
        select(Answer.id)
        .where(Answer.knowledge_item_id == item_id, Answer.published_at.is_not(None))
        .order_by(Answer.id.desc())
        .limit(1)
    )
    return found


def card_language(item: KnowledgeItem, language: str) -> str:
    """`language` when the answer has a card in it, else the answer's own language."""
    languages = card_languages(item)
    return language if language in languages else languages[0]


def card_image(
    settings: Settings,
    answer_id: int,
    item: KnowledgeItem,
    language: str,
    template_header: bool = False,
) -> Image:
    """The square card of `answer_id` in `language` (or the answer's own), with its words."""
    shown = card_language(item, language)
    claim, _ = item.text_in(shown)
    alt = f"{text(f'verdict.{item.verdict}', shown)}: {shorten(claim, ALT_CHARS)}"
    url = f"{page_url(settings, answer_id)}/card.png?lang={shown}"
    return Image(url=url, alt=alt, template_header=template_header)


def share_message(
    settings: Settings, chat_id: str, answer_id: int, item: KnowledgeItem, language: str
) -> OutboundMessage:
    """"Share this with your groups": the card, and under it the forward-ready text."""
    shown = card_language(item, resolve_language(language))
    offer = text("share_offer", language)
    limit = TEXT_LIMITS["caption"] - len(offer) - 2
    body = share_text(settings, share_source(item, shown, answer_id), limit=limit)
    return OutboundMessage(
        chat_id=chat_id,
        text=f"{offer}\n\n{body}",
        language=language,
        image=card_image(settings, answer_id, item, shown),
    )


async def offer_after_answer(
    settings: Settings,
    turn: Turn,
    item: KnowledgeItem,
    answer_of: Callable[[AsyncSession, int], Awaitable[int | None]] = published_answer_id,
) -> bool:
    """After a resident's answer, in a one-to-one chat: the card and its forward-ready text,
    to pass on ("Share this with your groups"). Once per resident and answer; only for
    published answers (cards exist for those) and channels that show pictures."""
    message = turn.message
    if message.in_group or message.channel not in PICTURE_CHANNELS:
        return False
    answer_id = await answer_of(turn.session, item.id)  # the knowledge index remembers it
    if answer_id is None:
        return False
    offer = share_message(settings, turn.resident.chat_id, answer_id, item, turn.language)
    key = f"share:{answer_id}:resident:{turn.resident.id}"
    return await enqueue(turn.session, turn.resident, offer, OutboxKind.REPLY, key)
