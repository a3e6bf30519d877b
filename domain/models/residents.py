"""Residents and what they asked. Only what delivery and the journey need is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, utcnow


class Resident(Base):
    """A person who wrote to the bot: channel + chat id to reply, language, consent, topics."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_residents_channel_chat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(10))
    # how `language` was set: "explicit" (their choice, never overridden), "detected", "hint"
    language_source: Mapped[str | None] = mapped_column(String(10))
    # another language seen in a row of confident messages; switched to after a few
    language_pending: Mapped[str | None] = mapped_column(String(10))
    language_pending_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consent_at: Mapped[datetime | None]
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_at: Mapped[datetime | None]
    blocked_reason: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    requests: Mapped[list[Request]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", passive_deletes=True
    )


class Request(Base):
    """One time someone asked: the message text, media references, and what we decided."""

    __tablename__ = "requests"
    __table_args__ = (
        # the panel's aggregates read these instead of the rows (index-only scans): a period's
        # figures for the dashboard and the report, a cluster's people for the queue
        Index(
            "ix_requests_period",
            "received_at",
            "cluster_id",
            "matched_item_id",
            "outcome",
            "answered_at",
            "language",
            "channel",
            "resident_id",
            "helpful",
        ),
        Index(
            "ix_requests_cluster_period",
            "cluster_id",
            "received_at",
            "resident_id",
            "language",
            "channel",
            "matched_item_id",
            "outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    platform_message_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(10), default="queue")
    confidence: Mapped[float | None]
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    matched_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )
    helpful: Mapped[bool | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answered_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="requests")


class InboxMessage(Base):
    """Every inbound message, written before the platform is told "received".

    The unique (channel, platform id) pair answers redeliveries once, across processes; a row
    without `processed_at` is work that was accepted but not yet done (a crash is recovered
    from here). The payload is cleared once processed: the request row keeps what is needed.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "platform_id", name="uq_inbox_key"),
        Index("ix_inbox_pending", "processed_at", "received_at"),
        Index("ix_inbox_due", "processed_at", "dead_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when recovery may try it (again): a failed attempt pushes this forward, so a message that
    # keeps failing waits its turn behind fresh ones instead of starving them
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    dead_at: Mapped[datetime | None]  # given up after too many attempts: staff see it
    last_error: Mapped[str | None] = mapped_column(String(200))
