"""The roles and areas a city configures, and validating what staff enter for them."""

from __future__ import annotations

from domain.models import RESIDENT_ROLE
from domain.settings import Settings

MAX_AREAS = 20
MAX_AREA_CHARS = 60
AMPLIFYING_ROLES = frozenset({"influencer", "community_leader"})  # sent to first


class RoleError(ValueError):
    """What staff entered is not a configured role or area; safe to show them."""


def _listed(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def roles(settings: Settings) -> list[str]:
    """The configured roles, `resident` always first."""
    configured = [r for r in _listed(settings.roles) if r != RESIDENT_ROLE]
    return [RESIDENT_ROLE, *configured]


def areas(settings: Settings) -> list[str]:
    """The configured areas; empty means staff may name any area."""
    return _listed(settings.areas)


def role_label(role: str) -> str:
    return role.replace("_", " ").capitalize()


def checked_role(settings: Settings, role: str) -> str:
    if role not in roles(settings):
        raise RoleError("Choose one of the configured roles.")
    return role


def checked_areas(settings: Settings, values: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(chosen) > MAX_AREAS:
        raise RoleError(f"Choose at most {MAX_AREAS} areas.")
    known = areas(settings)
    for area in chosen:
        if known and area not in known:
            raise RoleError(f"{area!r} is not one of the configured areas.")
        if len(area) > MAX_AREA_CHARS or any(c in area for c in "<>\"'"):
            raise RoleError("An area name is too long or has characters it may not have.")
    return chosen
