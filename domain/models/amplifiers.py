"""Influencers, community leaders and other amplifiers: their role, areas and invitations.

A profile row sits beside a resident (deleted with them by /forget) rather than in the
residents table: most residents never have one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow

RESIDENT_ROLE = "resident"


class Invitation(Base):
    """A code staff hand to a person or a group; following its link gives them a role."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    joined: Mapped[int] = mapped_column(Integer, default=0)


class SubscriberProfile(Base):
    """A resident's role, areas and languages, and the invitation they came through."""

    __tablename__ = "subscriber_profiles"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(40), default=RESIDENT_ROLE, index=True)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), index=True
    )
    consent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShareArrival(Base):
    """A new resident who first reached the bot through a published answer's shared card (its
    link carries the answer's share code, never the sharer). One row per resident and answer;
    deleted with the resident (/forget) or the answer."""

    __tablename__ = "share_arrivals"
    __table_args__ = (UniqueConstraint("answer_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    arrived_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
