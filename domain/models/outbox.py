"""The outbox: every message we send is written here first, in the same transaction."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # failed for good (or too often): staff may send it again or discard it
    IN_DOUBT = "in_doubt"  # its worker died mid-send: probably delivered, so not re-sent
    DISCARDED = "discarded"  # a dead or doubtful message staff chose not to send again


class OutboxKind(enum.StrEnum):
    REPLY = "reply"
    NOTIFICATION = "notification"
    BROADCAST = "broadcast"


PRIORITY = {OutboxKind.REPLY: 0, OutboxKind.NOTIFICATION: 5, OutboxKind.BROADCAST: 9}


class OutboxMessage(Base):
    """One outbound message; `dedup_key` makes "notify once" a database guarantee."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default=OutboxKind.REPLY)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the worker sending it
    send_started_at: Mapped[datetime | None]  # set just before the platform call of an attempt
    platform_message_id: Mapped[str | None] = mapped_column(String(100))
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
