"""Trusted reporters: an influencer or community leader who sends a rumour they are seeing.

Their request is a field report from their area: what they are told says so, the staff's
queue ranks clusters holding one above the rest and flags them with the reporters' areas, and
when the answer is published they get the card to pass on after the notification. Whether a
request is a field report is read from the sender's role when it is needed (a role staff
revoke stops counting), so nothing about it is stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers.roles import AMPLIFYING_ROLES
from bot.sharing.offer import PICTURE_CHANNELS, share_message
from bot.texts import replies
from bot.texts.catalogue import resolve_language
from domain.models import (
    Answer,
    KnowledgeItem,
    OutboxKind,
    Request,
    Resident,
    SubscriberProfile,
)
from domain.outbox import enqueue
from domain.settings import Settings

if TYPE_CHECKING:
    from bot.texts.turn import Turn


async def reporter(session: AsyncSession, resident_id: int) -> SubscriberProfile | None:
    """The resident's profile when their role makes them a trusted reporter."""
    profile = await session.get(SubscriberProfile, resident_id)
    return profile if profile is not None and profile.role in AMPLIFYING_ROLES else None


async def acknowledge(turn: Turn) -> bool:
    """Tell a trusted reporter their message is a field report (instead of "queued")."""
    if turn.message.in_group:
        return False
    profile = await reporter(turn.session, turn.resident.id)
    if profile is None:
        return False
    area = ", ".join(profile.areas or []) or "—"
    await turn.quote(
        replies.plain(turn.resident.chat_id, "report.received", turn.language, area=area)
    )
    return True


async def field_report_areas(
    session: AsyncSession, cluster_ids: Sequence[int]
) -> dict[int, list[str]]:
    """cluster id -> the areas its trusted reporters report from (clusters with none absent;
    a reporter without an area counts, with no area named)."""
    if not cluster_ids:
        return {}
    query = (
        select(Request.cluster_id, SubscriberProfile.areas)
        .join(SubscriberProfile, SubscriberProfile.resident_id == Request.resident_id)
        .where(Request.cluster_id.in_(list(cluster_ids)))
        .where(SubscriberProfile.role.in_(sorted(AMPLIFYING_ROLES)))
    )
    found: dict[int, list[str]] = {}
    for cluster_id, areas in (await session.execute(query)).all():
        if cluster_id is None:
            continue
        listed = found.setdefault(cluster_id, [])
        listed.extend(a for a in (areas or []) if a not in listed)
    return found


async def send_cards(session: AsyncSession, settings: Settings, answer_id: int) -> int:
    """After an answer's notifications: its card to each trusted reporter who asked."""
    answer = await session.get(Answer, answer_id)
    if answer is None or answer.cluster_id is None or answer.knowledge_item_id is None:
        return 0
    item = await session.get(KnowledgeItem, answer.knowledge_item_id)
    if item is None:
        return 0
    query = (
        select(Resident, Request.language)
        .join(Request, Request.resident_id == Resident.id)
        .join(SubscriberProfile, SubscriberProfile.resident_id == Resident.id)
        .where(Request.cluster_id == answer.cluster_id)
        .where(SubscriberProfile.role.in_(sorted(AMPLIFYING_ROLES)))
        .order_by(Request.id)
    )
    sent, seen = 0, set()
    for resident, asked_in in (await session.execute(query)).all():
        if resident.id in seen or resident.opted_out or resident.blocked:
            continue
        seen.add(resident.id)
        if resident.channel not in PICTURE_CHANNELS:
            continue
        language = resolve_language(resident.language or asked_in)
        card = share_message(settings, resident.chat_id, answer_id, item, language)
        key = f"report-card:{answer_id}:resident:{resident.id}"
        sent += await enqueue(session, resident, card, OutboxKind.NOTIFICATION, key)
    return sent
