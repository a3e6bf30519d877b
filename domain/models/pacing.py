"""Slots of a platform's daily messaging limit, taken by paced broadcasts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class PacedSend(Base):
    """One business-initiated message planned at `slot_at`, counted against the moving 24 hours.

    `dedup_key` is the outbox row's: planning the same broadcast again takes no new slot."""

    __tablename__ = "paced_sends"
    __table_args__ = (Index("ix_paced_sends_channel_slot", "channel", "slot_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    slot_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]  # when a worker let it go (see pacing.PacedGate)
