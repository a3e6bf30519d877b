"""Prometheus metrics for every process role (`/metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from domain.db import Database
from domain.models import OPEN_STATUSES, Cluster, InboxMessage, OutboxMessage, OutboxStatus, utcnow

REGISTRY = CollectorRegistry()
MESSAGES_IN = Counter(
    "rumourbot_messages_in", "Inbound messages accepted", ["channel"], registry=REGISTRY
)
MESSAGES_OUT = Counter(
    "rumourbot_messages_out", "Outbound send attempts", ["channel", "result"], registry=REGISTRY
)
DECISIONS = Counter("rumourbot_decisions", "Claim-check decisions", ["outcome"], registry=REGISTRY)
TURN_SECONDS = Histogram(
    "rumourbot_turn_seconds",
    "Time to handle one inbound message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "rumourbot_send_seconds",
    "Time of one platform send",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge("rumourbot_outbox_depth", "Outbound messages waiting", registry=REGISTRY)
OUTBOX_LAG = Gauge(
    "rumourbot_outbox_lag_seconds", "Age of the oldest due outbound message", registry=REGISTRY
)
OUTBOX_ATTENTION = Gauge(
    "rumourbot_outbox_needing_attention",
    "Outbound messages staff should look at (panel: Delivery), by status",
    ["status"],
    registry=REGISTRY,
)
INBOX_DEPTH = Gauge(
    "rumourbot_inbox_depth", "Accepted messages not yet processed", registry=REGISTRY
)
OPEN_CLUSTERS = Gauge("rumourbot_open_clusters", "Unanswered question clusters", registry=REGISTRY)


async def _refresh_gauges(db: Database) -> None:
    waiting = OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
    async with db.session() as session:
        OUTBOX_DEPTH.set(await session.scalar(select(func.count()).where(waiting)) or 0)
        oldest = await session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                waiting, OutboxMessage.next_attempt_at <= utcnow()
            )
        )
        OUTBOX_LAG.set((utcnow() - oldest).total_seconds() if oldest else 0)
        for status in (OutboxStatus.DEAD, OutboxStatus.IN_DOUBT):
            count = await session.scalar(
                select(func.count()).where(OutboxMessage.status == status)
            )
            OUTBOX_ATTENTION.labels(status.value).set(count or 0)
        INBOX_DEPTH.set(
            await session.scalar(select(func.count()).where(InboxMessage.processed_at.is_(None)))
            or 0
        )
        OPEN_CLUSTERS.set(
            await session.scalar(select(func.count()).where(Cluster.status.in_(OPEN_STATUSES))) or 0
        )


def metrics_endpoint(db: Database):  # type: ignore[no-untyped-def]
    async def metrics(_request: Request) -> Response:
        await _refresh_gauges(db)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return metrics
