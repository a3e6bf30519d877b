"""ORM models. Import every model module here so Alembic and `create_all` see all tables."""

from domain.models.admin import AdminSession, AdminUser, AuditEvent, ClusterNote, PanelSecret
from domain.models.base import Base, utcnow
from domain.models.clusters import OPEN_STATUSES, Answer, Cluster, ClusterStatus
from domain.models.knowledge import ItemKind, ItemStatus, KnowledgeItem, Verdict
from domain.models.leases import Lease
from domain.models.media import HashAlgorithm, MediaHash, MediaJob, MediaJobStatus
from domain.models.outbox import PRIORITY, OutboxKind, OutboxMessage, OutboxStatus
from domain.models.residents import InboxMessage, Request, Resident
from domain.models.sources import ItemKey, Source

__all__ = [
    "OPEN_STATUSES",
    "AdminSession",
    "AdminUser",
    "AuditEvent",
    "ClusterNote",
    "PanelSecret",
    "PRIORITY",
    "Answer",
    "Base",
    "Cluster",
    "ClusterStatus",
    "InboxMessage",
    "ItemKey",
    "ItemKind",
    "ItemStatus",
    "KnowledgeItem",
    "HashAlgorithm",
    "Lease",
    "MediaHash",
    "MediaJob",
    "MediaJobStatus",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Request",
    "Resident",
    "Source",
    "Verdict",
    "utcnow",
]
