"""ORM models. Import every model module here so Alembic and `create_all` see all tables."""

from domain.models.admin import AdminSession, AdminUser, AuditEvent, ClusterNote, PanelSecret
from domain.models.amplifiers import RESIDENT_ROLE, Invitation, ShareArrival, SubscriberProfile
from domain.models.base import Base, utcnow
from domain.models.clusters import (
    OPEN_STATUSES,
    Answer,
    Broadcast,
    BroadcastRecipient,
    Cluster,
    ClusterAlert,
    ClusterStatus,
)
from domain.models.knowledge import (
    ItemKind,
    ItemStatus,
    KnowledgeItem,
    KnowledgeVariant,
    VariantSource,
    VariantStatus,
    Verdict,
)
from domain.models.leases import Lease
from domain.models.media import HashAlgorithm, MediaHash, MediaJob, MediaJobStatus
from domain.models.outbox import PRIORITY, OutboxKind, OutboxMessage, OutboxStatus
from domain.models.pacing import PacedSend
from domain.models.residents import InboxMessage, Request, Resident
from domain.models.sources import ItemKey, Source

__all__ = [
    "OPEN_STATUSES",
    "RESIDENT_ROLE",
    "Invitation",
    "SubscriberProfile",
    "ShareArrival",
    "AdminSession",
    "AdminUser",
    "AuditEvent",
    "ClusterNote",
    "PanelSecret",
    "PRIORITY",
    "Answer",
    "Base",
    "Broadcast",
    "BroadcastRecipient",
    "Cluster",
    "ClusterAlert",
    "ClusterStatus",
    "InboxMessage",
    "ItemKey",
    "ItemKind",
    "ItemStatus",
    "KnowledgeItem",
    "HashAlgorithm",
    "KnowledgeVariant",
    "Lease",
    "MediaHash",
    "MediaJob",
    "MediaJobStatus",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "PacedSend",
    "Request",
    "Resident",
    "Source",
    "VariantSource",
    "VariantStatus",
    "Verdict",
    "utcnow",
]
