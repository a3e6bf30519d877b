"""The city's public Telegram channels: every published answer posted with its card, one
channel per language (`RUMOURBOT_TELEGRAM_CHANNELS`, e.g. "en=@city_en,sw=-1001234"; the bot
is an admin there), and a correction edits the post instead of posting again.

A post is an outbox row to the channel (a `Resident` row stands for it, as for any chat), so
it is sent once, retried, and its Telegram message id is stored on the row when it is sent
(`OutboxMessage.platform_message_id`). A correction finds that row: still waiting, its words
are replaced; sent, an edit of that message is queued; failed, the post is queued again.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sharing.content import TEXT_LIMITS, card_languages, share_source, share_text
from bot.sharing.offer import card_image
from domain.messages import OutboundMessage
from domain.models import Answer, KnowledgeItem, OutboxKind, OutboxMessage, OutboxStatus
from domain.outbox import enqueue
from domain.residents import resident_for
from domain.settings import Settings

CHANNEL = "telegram"


def channels(settings: Settings) -> dict[str, str]:
    """language -> channel (an @username or a numeric id) from the setting; odd parts ignored."""
    found: dict[str, str] = {}
    for part in settings.telegram_channels.split(","):
        language, _, chat = part.partition("=")
        language, chat = language.strip().lower(), chat.strip()
        if language and chat and len(chat) <= 100 and (chat.startswith("@") or
                                                       chat.lstrip("-").isdigit()):
            found[language] = chat
    return found


def post_key(answer_id: int, language: str) -> str:
    return f"channel-post:{answer_id}:{language}"


def post_message(settings: Settings, chat: str, answer_id: int, item: KnowledgeItem,
                 language: str) -> OutboundMessage:
    """The card, with the forward-ready text as its caption."""
    body = share_text(
        settings, share_source(item, language, answer_id), limit=TEXT_LIMITS["caption"]
    )
    return OutboundMessage(chat_id=chat, text=body, language=language,
                           image=card_image(settings, answer_id, item, language))


async def sync_posts(session: AsyncSession, settings: Settings, answer_id: int) -> int:
    """Post `answer_id` in each configured language it has, or bring existing posts up to
    date (after a correction). Returns how many posts or edits were queued or rewritten."""
    configured = channels(settings)
    if not configured:
        return 0
    answer = await session.get(Answer, answer_id)
    item = await session.get(KnowledgeItem, answer.knowledge_item_id) if answer else None
    if answer is None or item is None:
        return 0
    changed = 0
    for language in card_languages(item):
        chat = configured.get(language)
        if chat is None:
            continue
        message = post_message(settings, chat, answer_id, item, language)
        changed += await _post_or_edit(session, chat, answer, message)
    return changed


async def _post_or_edit(session: AsyncSession, chat: str, answer: Answer,
                        message: OutboundMessage) -> bool:
    channel = await resident_for(session, CHANNEL, chat)
    key = post_key(answer.id, message.language or "")
    post = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))
    if post is None:
        return await enqueue(session, channel, message, OutboxKind.BROADCAST, key)
    if post.status == OutboxStatus.PENDING.value:  # not sent yet: it goes out corrected
        post.payload = message.to_payload()
        return True
    version_key = f"{key}:v{answer.version}"
    if post.status == OutboxStatus.SENT.value and post.platform_message_id:
        edit = replace(message, edits=post.platform_message_id)
        return await enqueue(session, channel, edit, OutboxKind.BROADCAST, version_key)
    return await enqueue(session, channel, message, OutboxKind.BROADCAST, version_key)
