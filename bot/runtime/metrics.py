"""Prometheus metrics for every process role (`/metrics`): the gauges read from the database,
and the counters the conversation and the dispatcher define and bump."""

from __future__ import annotations

import asyncio
import hmac
import time

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.conversation.metrics import DECISIONS, MESSAGES_IN, TURN_SECONDS
from bot.delivery.metrics import MESSAGES_OUT, SEND_SECONDS
from domain.db import Database
from domain.models import OPEN_STATUSES, Cluster, InboxMessage, OutboxMessage, OutboxStatus, utcnow
from domain.settings import Settings

REGISTRY = CollectorRegistry()
for _collector in (MESSAGES_IN, DECISIONS, TURN_SECONDS, MESSAGES_OUT, SEND_SECONDS):
    REGISTRY.register(_collector)  # defined where they are bumped, served from here
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
INBOX_GIVEN_UP = Gauge(
    "rumourbot_inbox_given_up",
    "Accepted messages given up after too many failed attempts (panel: Delivery)",
    registry=REGISTRY,
)
OPEN_CLUSTERS = Gauge("rumourbot_open_clusters", "Unanswered question clusters", registry=REGISTRY)
ASYNCIO_TASKS = Gauge(
    "rumourbot_asyncio_tasks",
    "asyncio tasks alive in this process (a soak checks it stays flat)",
    registry=REGISTRY,
)


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
            count = await session.scalar(select(func.count()).where(OutboxMessage.status == status))
            OUTBOX_ATTENTION.labels(status.value).set(count or 0)
        unfinished = InboxMessage.processed_at.is_(None)
        INBOX_DEPTH.set(
            await session.scalar(
                select(func.count()).where(unfinished, InboxMessage.dead_at.is_(None))
            )
            or 0
        )
        INBOX_GIVEN_UP.set(
            await session.scalar(
                select(func.count()).where(unfinished, InboxMessage.dead_at.is_not(None))
            )
            or 0
        )
        OPEN_CLUSTERS.set(
            await session.scalar(select(func.count()).where(Cluster.status.in_(OPEN_STATUSES))) or 0
        )


GAUGE_SECONDS = 15.0  # the counts behind the gauges are read at most this often per process


def metrics_endpoint(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    """`/metrics`: with RUMOURBOT_METRICS_TOKEN set, only for `Authorization: Bearer <token>`.
    The database counts are cached, so a scraper hammering the page costs no queries."""
    refreshed = [float("-inf")]
    lock = asyncio.Lock()
    token = settings.metrics_token.get_secret_value().encode() if settings.metrics_token else None

    async def metrics(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, b"Bearer " + token):
                return PlainTextResponse(
                    "metrics need a bearer token", 401, headers={"WWW-Authenticate": "Bearer"}
                )
        async with lock:
            if time.monotonic() - refreshed[0] >= GAUGE_SECONDS:
                await _refresh_gauges(db)
                refreshed[0] = time.monotonic()
        ASYNCIO_TASKS.set(len(asyncio.all_tasks()))
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return metrics
