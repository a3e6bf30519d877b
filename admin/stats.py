"""Numbers for the dashboard and the CSV exports, computed from requests, clusters and answers."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Answer, Cluster, KnowledgeItem, Request, utcnow

DAYS = 30


@dataclass
class Insight:
    per_day: list[tuple[date, int]] = field(default_factory=list)
    top_week: list[tuple[Cluster, int]] = field(default_factory=list)
    automatic: int = 0
    by_staff: int = 0
    waiting: int = 0
    median_hours: float | None = None
    languages: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    total: int = 0


async def insight(session: AsyncSession, now: datetime | None = None) -> Insight:
    now = now or utcnow()
    since = now - timedelta(days=DAYS)
    out = Insight()
    clusters = {c.id: c for c in (await session.scalars(select(Cluster))).all()}
    item_topics = dict((await session.execute(select(KnowledgeItem.id, KnowledgeItem.topic))).all())
    query = select(
        Request.received_at,
        Request.outcome,
        Request.cluster_id,
        Request.answered_at,
        Request.language,
        Request.channel,
        Request.matched_item_id,
    ).where(Request.received_at >= since)
    days: Counter[date] = Counter()
    week: Counter[int] = Counter()
    for received, outcome, cluster_id, answered, language, channel, item_id in (
        await session.execute(query)
    ).all():
        out.total += 1
        days[received.date()] += 1
        out.languages[language or "unknown"] += 1
        out.channels[channel] += 1
        cluster = clusters.get(cluster_id) if cluster_id else None
        out.topics[
            (cluster.topic if cluster else None) or item_topics.get(item_id or 0) or "none"
        ] += 1
        if outcome == "answer" and cluster_id is None:
            out.automatic += 1
        elif answered is not None:
            out.by_staff += 1
        else:
            out.waiting += 1
        if cluster_id and received >= now - timedelta(days=7):
            week[cluster_id] += 1
    out.per_day = [
        ((now - timedelta(days=n)).date(), days[(now - timedelta(days=n)).date()])
        for n in range(DAYS - 1, -1, -1)
    ]
    out.top_week = [(clusters[cid], n) for cid, n in week.most_common(10)]
    out.median_hours = await median_hours_to_answer(session, clusters)
    return out


async def median_hours_to_answer(
    session: AsyncSession, clusters: dict[int, Cluster]
) -> float | None:
    hours = []
    for answer in (
        await session.scalars(select(Answer).where(Answer.cluster_id.is_not(None)))
    ).all():
        cluster = clusters.get(answer.cluster_id or 0)
        if cluster is not None and answer.published_at is not None:
            hours.append((answer.published_at - cluster.first_seen_at).total_seconds() / 3600)
    return round(statistics.median(hours), 1) if hours else None
