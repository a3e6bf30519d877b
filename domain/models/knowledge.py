"""The knowledge base: fact-checks and city statements residents are answered from."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, utcnow


class Verdict(enum.StrEnum):
    FALSE = "false"
    MISLEADING = "misleading"
    MISSING_CONTEXT = "missing_context"
    TRUE = "true"
    UNVERIFIED = "unverified"


class ItemKind(enum.StrEnum):
    FACT_CHECK = "factcheck"
    STATEMENT = "statement"


class ItemStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class KnowledgeItem(Base):
    """A fact-check or an official statement; `translations` maps language -> text fields."""

    __tablename__ = "knowledge_items"
    __table_args__ = (
        UniqueConstraint("origin", "external_id", name="uq_knowledge_items_origin_external"),
        Index("ix_knowledge_items_updated", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=ItemKind.FACT_CHECK)
    claim: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20))
    explanation: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str | None] = mapped_column(String(2000))
    publisher: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(10), default="en")
    topic: Mapped[str | None] = mapped_column(String(50), index=True)
    origin: Mapped[str] = mapped_column(String(100), default="import")
    external_id: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.ACTIVE, index=True)
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    # vectors of the translated claims, indexed as views of the item (see bot.conversation.indexes)
    view_embeddings: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def text_in(self, language: str) -> tuple[str, str]:
        """(claim, explanation) in `language` when a translation exists, else the original."""
        tr = (self.translations or {}).get(language) or {}
        return tr.get("claim") or self.claim, tr.get("explanation") or self.explanation


class VariantSource(enum.StrEnum):
    CLUSTER = "cluster"  # a request of a cluster staff answered with the item
    STAFF = "staff"  # added or confirmed by staff on the item's page
    RESIDENTS = "residents"  # residents of several chats picked the item for this text
    RESIDENT = "resident"  # one resident picked the item (pending)


class VariantStatus(enum.StrEnum):
    PENDING = "pending"  # not matched on; waits for more residents or for staff
    CONFIRMED = "confirmed"  # indexed: a duplicate of it is answered with the item
    REMOVED = "removed"  # staff removed it (kept so every index drops it)


class KnowledgeVariant(Base):
    """A message text a knowledge item is known to answer.

    A pending variant keeps the resident who picked the item (deleted with them by /forget);
    a confirmed one is anonymous text.
    """

    __tablename__ = "knowledge_variants"
    __table_args__ = (
        Index("ix_knowledge_variants_updated", "updated_at", "id"),
        Index("ix_knowledge_variants_item_key", "item_id", "text_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("knowledge_items.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(String(16))  # hash of the normalised words
    language: Mapped[str | None] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=VariantStatus.PENDING, index=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
