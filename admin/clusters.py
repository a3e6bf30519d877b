"""The queue: clusters with their askers, velocity and languages; status, merge and split."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Cluster, ClusterStatus, Request, utcnow

VELOCITY_WEIGHT = 3.0


class ClusterError(ValueError):
    """A merge or split that cannot be done; the message is safe to show to staff."""


@dataclass
class ClusterRow:
    """One line of the queue."""

    cluster: Cluster
    askers: int = 0
    requests: int = 0
    last_hour: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    languages: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)

    @property
    def priority(self) -> float:
        """Rises with how many residents asked and how fast new asks arrive."""
        return round(self.askers + VELOCITY_WEIGHT * self.last_hour, 1)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    language: str = ""
    topic: str = ""
    assignee: str = ""

    def statuses(self) -> list[str]:
        if self.status == "open":
            return [ClusterStatus.NEW, ClusterStatus.IN_REVIEW]
        if self.status in {s.value for s in ClusterStatus}:
            return [self.status]
        return [s.value for s in ClusterStatus]


async def queue(
    session: AsyncSession, filters: QueueFilter, now: datetime | None = None
) -> list[ClusterRow]:
    """Clusters matching `filters`, highest priority first."""
    now = now or utcnow()
    query = select(Cluster).where(Cluster.status.in_(filters.statuses()))
    if filters.topic:
        query = query.where(Cluster.topic == filters.topic)
    if filters.assignee == "-":
        query = query.where(Cluster.assignee.is_(None))
    elif filters.assignee:
        query = query.where(Cluster.assignee == filters.assignee)
    clusters = list((await session.scalars(query)).all())
    rows = await summarise(session, clusters, now)
    if filters.language:
        rows = [r for r in rows if filters.language in r.languages]
    return sorted(
        rows, key=lambda r: (-r.priority, -(r.last_seen or now).timestamp(), r.cluster.id)
    )


async def summarise(
    session: AsyncSession, clusters: list[Cluster], now: datetime
) -> list[ClusterRow]:
    rows = {c.id: ClusterRow(c) for c in clusters}
    if not rows:
        return []
    askers: dict[int, set[int]] = defaultdict(set)
    query = select(
        Request.cluster_id,
        Request.resident_id,
        Request.language,
        Request.channel,
        Request.received_at,
    ).where(Request.cluster_id.in_(list(rows)))
    hour_ago = now - timedelta(hours=1)
    for cluster_id, resident_id, language, channel, received in (
        await session.execute(query)
    ).all():
        if cluster_id is None:
            continue
        row = rows[cluster_id]
        row.requests += 1
        askers[cluster_id].add(resident_id)
        row.last_hour += received >= hour_ago
        row.first_seen = min(row.first_seen or received, received)
        row.last_seen = max(row.last_seen or received, received)
        if language:
            row.languages.add(language)
        row.channels.add(channel)
    for cluster_id, row in rows.items():
        row.askers = len(askers[cluster_id])
        row.first_seen = row.first_seen or row.cluster.first_seen_at
        row.last_seen = row.last_seen or row.cluster.last_seen_at
    return list(rows.values())


def snapshot(cluster: Cluster) -> dict[str, Any]:
    return {
        "status": cluster.status,
        "assignee": cluster.assignee,
        "topic": cluster.topic,
        "ask_count": cluster.ask_count,
    }


async def requests_of(session: AsyncSession, cluster_id: int) -> list[Request]:
    query = (
        select(Request)
        .where(Request.cluster_id == cluster_id)
        .order_by(Request.received_at, Request.id)
    )
    return list((await session.scalars(query)).all())


async def _recount(session: AsyncSession, cluster: Cluster) -> None:
    requests = await requests_of(session, cluster.id)
    cluster.ask_count = len(requests)
    if requests:
        cluster.first_seen_at = requests[0].received_at
        cluster.last_seen_at = requests[-1].received_at
    cluster.updated_at = utcnow()


async def merge(session: AsyncSession, source_id: int, target_id: int) -> tuple[Cluster, Cluster]:
    """Move every request of `source` into `target`; `source` is closed (not a claim)."""
    if source_id == target_id:
        raise ClusterError("A cluster cannot be merged into itself.")
    source = await session.get(Cluster, source_id)
    target = await session.get(Cluster, target_id)
    if source is None or target is None:
        raise ClusterError("That cluster does not exist.")
    if source.answer_id is not None:
        raise ClusterError("An answered cluster cannot be merged away.")
    for request in await requests_of(session, source.id):
        request.cluster_id = target.id
    await session.flush()
    source.status = ClusterStatus.NOT_A_CLAIM
    source.representative_text = f"[merged into #{target.id}] {source.representative_text}"[:2000]
    await _recount(session, source)
    await _recount(session, target)
    return source, target


async def split(session: AsyncSession, request_id: int) -> tuple[Cluster, Cluster]:
    """Take one request out of its cluster into a new cluster of its own."""
    request = await session.get(Request, request_id)
    if request is None or request.cluster_id is None:
        raise ClusterError("That request is not in a cluster.")
    old = await session.get(Cluster, request.cluster_id)
    assert old is not None
    if old.ask_count <= 1 and len(await requests_of(session, old.id)) <= 1:
        raise ClusterError("This is the only request in its cluster.")
    new = Cluster(
        representative_text=(request.text or "(no text)")[:2000],
        status=ClusterStatus.NEW,
        topic=old.topic,
        ask_count=1,
        first_seen_at=request.received_at,
        last_seen_at=request.received_at,
    )
    session.add(new)
    await session.flush()
    request.cluster_id = new.id
    await session.flush()
    await _recount(session, old)
    return old, new
