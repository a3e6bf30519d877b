"""What residents' photos, voice notes and videos leave behind: hashes, and reading jobs.

A hash belongs to one knowledge item, cluster or request: a re-forward of a known image or
voice note is recognised by it before any text is read. A job is a voice note or video waiting
for a worker (transcription is too slow for the webhook's process).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow


class HashAlgorithm(enum.StrEnum):
    PHASH = "phash"  # 64-bit perceptual hash of an image or video keyframe, 16 hex digits
    SHA256 = "sha256"  # exact content of a file (a voice note forwarded as is)


class MediaHash(Base):
    __tablename__ = "media_hashes"
    __table_args__ = (Index("ix_media_hashes_value", "algorithm", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(64))
    knowledge_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="CASCADE"), index=True
    )
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    # the words read from the image: two notices made from one template have close pHashes,
    # so a perceptual match also needs their words to agree
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaJobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class MediaJob(Base):
    """An accepted message with media, waiting to be read by a worker."""

    __tablename__ = "media_jobs"
    __table_args__ = (Index("ix_media_jobs_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the InboundMessage
    language: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(10), default=MediaJobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
