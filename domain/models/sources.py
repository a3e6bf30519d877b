"""Configured sources of fact-checks and statements, their cursors and their health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow


class Source(Base):
    """One connector instance: its kind, configuration, cursor and last outcome."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    token_hash: Mapped[str | None] = mapped_column(String(200))  # push sources only
    managed_by: Mapped[str] = mapped_column(String(10), default="db")  # "db" or "file"
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed runs
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    last_run_items: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ItemKey(Base):
    """De-duplication keys of a knowledge item: its canonical URL and its normalised claim."""

    __tablename__ = "item_keys"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="CASCADE"), primary_key=True
    )
    url_key: Mapped[str | None] = mapped_column(String(64), index=True)
    claim_key: Mapped[str] = mapped_column(String(64), index=True)
