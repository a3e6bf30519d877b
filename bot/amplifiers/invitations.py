"""Invitation codes: created by staff, followed by a person, who then has a role and areas.

The code travels in a Telegram deep link (`t.me/<bot>?start=<code>`) or in the text a WhatsApp
click-to-chat link prefills (`wa.me/<number>?text=/start <code>`): either way the bot reads
`/start <code>`. Pressing Send is the person's own act; the reply tells them what joining means
and how to leave. Staff operations take the caller's session, so each commits with its audit
event.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import audit
from bot.amplifiers.roles import RoleError, checked_areas, checked_role
from bot.texts.catalogue import languages
from domain.models import RESIDENT_ROLE, Invitation, Resident, SubscriberProfile, utcnow
from domain.settings import Settings

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,40}$")  # what Telegram's start parameter allows
MAX_LABEL = 200


@dataclass(frozen=True)
class InvitationLinks:
    telegram: str | None
    whatsapp: str | None


def new_code() -> str:
    return "j" + secrets.token_urlsafe(9)


def links(settings: Settings, code: str) -> InvitationLinks:
    telegram = whatsapp = None
    if settings.telegram_bot_username:
        telegram = f"https://t.me/{settings.telegram_bot_username.lstrip('@')}?start={code}"
    if settings.whatsapp_number:
        number = "".join(c for c in settings.whatsapp_number if c.isdigit())
        whatsapp = f"https://wa.me/{number}?text={quote('/start ' + code, safe='')}"
    return InvitationLinks(telegram, whatsapp)


def qr_svg_data_uri(link: str) -> str:
    """The link as a QR code, an SVG data URI the panel shows and staff can download."""
    return str(segno.make(link, error="m").svg_data_uri(scale=6, border=2))


async def create(
    session: AsyncSession,
    settings: Settings,
    actor: str,
    label: str,
    role: str,
    areas: list[str],
    chosen_languages: list[str],
) -> Invitation:
    label = " ".join(label.split())[:MAX_LABEL]
    if not label:
        raise RoleError("Name the person or group the invitation is for.")
    role = checked_role(settings, role)
    chosen = checked_areas(settings, areas)
    wanted = [code for code in chosen_languages if code in languages()]
    invitation = Invitation(
        code=new_code(),
        label=label,
        role=role,
        areas=chosen,
        languages=wanted,
        created_by=actor,
        created_at=utcnow(),
        joined=0,
    )
    session.add(invitation)
    await session.flush()
    await audit.record(
        session,
        "invitation.create",
        actor,
        f"invitation:{invitation.id}",
        None,
        {"label": label, "role": role, "areas": chosen, "languages": wanted},
    )
    return invitation


async def revoke(session: AsyncSession, actor: str, invitation_id: int) -> Invitation | None:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.revoked_at is not None:
        return None
    invitation.revoked_at = utcnow()
    await audit.record(
        session,
        "invitation.revoke",
        actor,
        f"invitation:{invitation.id}",
        {"revoked": False},
        {"revoked": True, "label": invitation.label},
    )
    return invitation


async def profile_of(session: AsyncSession, resident: Resident) -> SubscriberProfile | None:
    return await session.get(SubscriberProfile, resident.id)


async def accept(session: AsyncSession, resident: Resident, code: str) -> Invitation | None:
    """Register the invitation's role, areas and languages for `resident`; None when the code
    is unknown or revoked. Following the same link again changes nothing."""
    if not CODE_PATTERN.match(code):
        return None
    invitation = (await session.scalars(select(Invitation).where(Invitation.code == code))).first()
    if invitation is None or invitation.revoked_at is not None:
        return None
    profile = await profile_of(session, resident)
    if profile is None:
        profile = SubscriberProfile(resident_id=resident.id, areas=[], languages=[])
        session.add(profile)
    if profile.invitation_id != invitation.id:
        invitation.joined += 1
    profile.role = invitation.role
    profile.areas = list(invitation.areas)
    profile.languages = list(invitation.languages)
    profile.invitation_id = invitation.id
    profile.consent_at = utcnow()
    resident.consent_at = resident.consent_at or utcnow()
    resident.opted_out = False
    return invitation


async def change_role(
    session: AsyncSession,
    settings: Settings,
    actor: str,
    resident_id: int,
    role: str,
    areas: list[str],
) -> SubscriberProfile | None:
    """Staff change someone's role and areas; `resident` as the role revokes it."""
    role = checked_role(settings, role)
    chosen = checked_areas(settings, areas)
    resident = await session.get(Resident, resident_id)
    if resident is None:
        return None
    profile = await session.get(SubscriberProfile, resident_id)
    if profile is None:
        profile = SubscriberProfile(
            resident_id=resident_id, role=RESIDENT_ROLE, areas=[], languages=[]
        )
        session.add(profile)
    before = {"role": profile.role, "areas": list(profile.areas or [])}
    profile.role, profile.areas = role, chosen
    name = "role.revoke" if role == RESIDENT_ROLE else "role.change"
    await audit.record(
        session, name, actor, f"resident:{resident_id}", before, {"role": role, "areas": chosen}
    )
    return profile
