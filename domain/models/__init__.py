"""ORM models. Import every model module here so Alembic and `create_all` see all tables."""

from domain.models.base import Base, utcnow
from domain.models.clusters import OPEN_STATUSES, Answer, Cluster, ClusterStatus
from domain.models.knowledge import ItemKind, ItemStatus, KnowledgeItem, Verdict
from domain.models.outbox import PRIORITY, OutboxKind, OutboxMessage, OutboxStatus
from domain.models.residents import InboundSeen, Request, Resident

__all__ = [
    "OPEN_STATUSES",
    "PRIORITY",
    "Answer",
    "Base",
    "Cluster",
    "ClusterStatus",
    "InboundSeen",
    "ItemKind",
    "ItemStatus",
    "KnowledgeItem",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Request",
    "Resident",
    "Verdict",
    "utcnow",
]
