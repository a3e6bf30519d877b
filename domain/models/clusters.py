"""Clusters of unanswered requests, and the answers staff publish for them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow


class ClusterStatus(enum.StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    NOT_A_CLAIM = "not_a_claim"
    SPAM = "spam"
    OUT_OF_SCOPE = "out_of_scope"
    MERGED = "merged"  # its requests moved into another cluster (undo from that one's history)


OPEN_STATUSES = (ClusterStatus.NEW, ClusterStatus.IN_REVIEW)


class Cluster(Base):
    """Similar unanswered questions, so one answer serves everyone who asked."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    representative_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ClusterStatus.NEW, index=True)
    topic: Mapped[str | None] = mapped_column(String(50))
    assignee: Mapped[str | None] = mapped_column(String(100))
    ask_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    answer_id: Mapped[int | None]  # the published answer (no FK: answers point back here)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Answer(Base):
    """A staff answer; publishing it creates a knowledge item and notifies the askers."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )
    knowledge_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )
    verdict: Mapped[str] = mapped_column(String(20))
    explanation: Mapped[str] = mapped_column(Text)
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    author: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A verified update sent to a topic's subscribers (from the composer, or with an answer).

    `key` comes from the form that was shown, so a resubmitted form finds the broadcast it
    already made and sends nothing twice."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(50), index=True)
    bodies: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", ondelete="SET NULL"), index=True
    )
    author: Mapped[str | None] = mapped_column(String(100))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BroadcastRecipient(Base):
    """Who a broadcast was sent to (so a correction of its answer reaches them); deleted with
    the resident (/forget)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(10))


class ClusterAlert(Base):
    """A spike alert sent to staff: at most one per cluster and level."""

    __tablename__ = "cluster_alerts"
    __table_args__ = (UniqueConstraint("cluster_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)
    residents_last_hour: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
