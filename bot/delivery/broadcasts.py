"""Targeted, paced broadcasts: who gets what, when, within WhatsApp's messaging limit.

Everyone in the audience gets one outbox row per broadcast key (sent once, whatever retries or
restarts happen). Telegram, the web chat and WhatsApp residents whose service window is open
are due at once; WhatsApp residents outside it take a slot of the number's daily limit
(`pacing.SlotPlanner`), influencers and community leaders first, and are sent the approved
template at their slot. An answer's broadcast carries its share card as a picture in each
language (a photo on Telegram, an image message on WhatsApp, the template's image header
outside the window when the template has one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.conversation.publishing import PublishingServices
from bot.delivery.audience import Audience, Recipient, recipients
from bot.delivery.pacing import PACED_CHANNELS, SlotPlanner, tier_limit, window_open
from bot.sharing.content import card_languages, share_text
from bot.sharing.offer import card_image
from bot.sharing.web import published_source
from bot.texts.catalogue import text, topic_label
from domain.messages import Image, OutboundMessage
from domain.models import Answer, KnowledgeItem, OutboxKind, utcnow
from domain.outbox import enqueue

Clock = Callable[[], datetime]
TEMPLATE_PARAM_CHARS = 900


class BroadcastError(ValueError):
    """The broadcast cannot be sent as given; the message is safe to show to staff."""


@dataclass
class BroadcastPlan:
    """What a broadcast does (a preview), or did: per channel and language, now and paced."""

    recipients: int = 0
    queued: int = 0
    at_once: int = 0
    paced: int = 0
    amplifiers: int = 0
    by_channel_language: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_slot: datetime | None = None
    days: float = 0.0  # from the start to the last paced message


def _message(
    recipient: Recipient,
    topic: str | None,
    body: dict[str, str],
    default: str,
    images: dict[str, Image] | None = None,
) -> OutboundMessage:
    language = recipient.language
    shown = language if language in body else default if default in body else next(iter(body))
    content = body[shown]
    image = (images or {}).get(shown)
    header = text("broadcast_header", language, topic=topic_label(topic or "", language))
    param = content
    if image is not None and not image.template_header:  # a template without a picture
        param = f"{image.url} {content}"  # still shows where the card is
    return OutboundMessage(
        chat_id=recipient.resident.chat_id,
        text=f"{header}\n\n{content}" if topic else content,
        language=language,
        template="broadcast",
        template_params=(param[:TEMPLATE_PARAM_CHARS],),
        image=image,
    )


async def targeted_broadcast(
    services: PublishingServices,
    key: str,
    audience: Audience,
    body: dict[str, str],
    default_language: str = "en",
    clock: Clock = utcnow,
    preview: bool = False,
    images: dict[str, Image] | None = None,
) -> BroadcastPlan:
    """Queue (or with `preview`, only plan) `body` for everyone in `audience`, once per `key`;
    `images` (per language, like `body`) go with it as pictures."""
    if not body or not any(v.strip() for v in body.values()):
        raise BroadcastError("the update is empty")
    body = {language: value.strip() for language, value in body.items() if value.strip()}
    now = clock()
    limit = tier_limit(services.settings.whatsapp_messaging_tier)
    plan = BroadcastPlan()
    async with services.db.session() as session:
        planners = {channel: SlotPlanner(channel, limit, now) for channel in PACED_CHANNELS}
        for each in planners.values():
            await each.load(session)
        for recipient in await recipients(session, audience):
            resident = recipient.resident
            plan.recipients += 1
            plan.amplifiers += recipient.amplifier
            plan.by_channel_language[(resident.channel, recipient.language)] += 1
            dedup_key = f"broadcast:{key}:resident:{resident.id}"
            planner = planners.get(resident.channel)
            slot: datetime | None = None
            if planner is not None and not window_open(resident, now):
                if preview:
                    slot = planner.simulate(1)
                else:
                    slot = await planner.take(session, dedup_key)
                    if slot is None:  # planned and queued by an earlier call with this key
                        continue
                plan.paced += slot is not None and slot > now
                plan.last_slot = max(plan.last_slot or now, slot or now)
            if preview:
                plan.at_once += slot is None or slot <= now
                continue
            message = _message(recipient, audience.topic, body, default_language, images)
            queued = await enqueue(
                session, resident, message, OutboxKind.BROADCAST, dedup_key, not_before=slot or now
            )
            plan.queued += queued
            plan.at_once += queued and (slot is None or slot <= now)
        if preview:
            await session.rollback()
    if plan.last_slot is not None:
        plan.days = (plan.last_slot - now).total_seconds() / 86400
    if not preview:
        services.dispatcher.wake()
    return plan


async def answer_bodies(services: PublishingServices, answer_id: int) -> dict[str, str]:
    """A published answer as a broadcast, per language: "share this with your groups", then
    its forward-ready text (short enough to be a photo's caption and the template's parameter;
    the card itself goes as the picture, `answer_images`)."""
    item = await _published_item(services, answer_id)
    bodies: dict[str, str] = {}
    for language in card_languages(item):
        found = await published_source(services.db, str(answer_id), language)
        if found is None:
            continue
        head = f"{text('share_offer', language)}\n\n"
        limit = TEMPLATE_PARAM_CHARS - len(head)
        bodies[language] = head + share_text(services.settings, found[1], limit=limit)
    if not bodies:
        raise BroadcastError("that answer is not published")
    return bodies


async def answer_images(services: PublishingServices, answer_id: int) -> dict[str, Image]:
    """The answer's square card in each of its languages, as pictures to send."""
    item = await _published_item(services, answer_id)
    header = services.settings.whatsapp_template_broadcast_image
    return {
        language: card_image(services.settings, answer_id, item, language, header)
        for language in card_languages(item)
    }


async def _published_item(services: PublishingServices, answer_id: int) -> KnowledgeItem:
    async with services.db.session() as session:
        answer = await session.get(Answer, answer_id)
        item = await session.get(KnowledgeItem, answer.knowledge_item_id) if answer else None
    if item is None:
        raise BroadcastError("that answer does not exist")
    return item
