"""Who a targeted broadcast reaches: roles, areas, languages and a topic, amplifiers first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers.roles import AMPLIFYING_ROLES
from bot.texts.catalogue import resolve_language
from domain.models import RESIDENT_ROLE, Resident, SubscriberProfile


@dataclass(frozen=True)
class Audience:
    """Empty sets mean "anyone"; `topic` None means every subscriber of anything."""

    topic: str | None = None
    roles: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()

    def includes(self, resident: Resident, profile: SubscriberProfile | None) -> bool:
        role = profile.role if profile else RESIDENT_ROLE
        if self.roles and role not in self.roles:
            return False
        if self.areas and not self.areas & set(profile.areas if profile else []):
            return False
        if self.languages and language_of(resident, profile) not in self.languages:
            return False
        if self.topic is not None:
            return self.topic in (resident.topics or [])
        return bool(resident.topics) or role != RESIDENT_ROLE


@dataclass(frozen=True)
class Recipient:
    resident: Resident
    role: str
    language: str

    @property
    def amplifier(self) -> bool:
        return self.role in AMPLIFYING_ROLES


def language_of(resident: Resident, profile: SubscriberProfile | None) -> str:
    if resident.language:
        return resolve_language(resident.language)
    if profile and profile.languages:
        return resolve_language(profile.languages[0])
    return resolve_language(None)


async def recipients(session: AsyncSession, audience: Audience) -> list[Recipient]:
    """Everyone in `audience` who has not opted out or been blocked; influencers and community
    leaders first, then the others, each group in the order they joined."""
    query = (
        select(Resident, SubscriberProfile)
        .outerjoin(SubscriberProfile, SubscriberProfile.resident_id == Resident.id)
        .where(Resident.opted_out.is_(False), Resident.blocked.is_(False))
        .order_by(Resident.id)
    )
    found = [
        Recipient(
            resident, profile.role if profile else RESIDENT_ROLE, language_of(resident, profile)
        )
        for resident, profile in (await session.execute(query)).all()
        if audience.includes(resident, profile)
    ]
    return sorted(found, key=lambda r: not r.amplifier)  # stable: join order kept
