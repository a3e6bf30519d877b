"""Numbers for the dashboard: SQL aggregates (GROUP BY in the database), computed once per page.

Days are the city's days (`RUMOURBOT_TIME_ZONE`): PostgreSQL converts each timestamp with the
zone's rules; SQLite shifts by the zone's current UTC offset (exact except across a daylight-
saving change within the window).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
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


def local_day(session: AsyncSession, column: Any, zone: ZoneInfo, now: datetime) -> Any:
    """`column` as a calendar day in `zone`, as SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(zone.key, column))
    offset = now.astimezone(zone).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


async def insight(
    session: AsyncSession, now: datetime | None = None, zone: ZoneInfo | None = None
) -> Insight:
    now = now or utcnow()
    zone = zone or ZoneInfo("UTC")
    since = now - timedelta(days=DAYS)
    out = Insight()
    recent = Request.received_at >= since
    day = local_day(session, Request.received_at, zone, now)
    days: Counter[str] = Counter()
    for value, count in (
        await session.execute(select(day, func.count()).where(recent).group_by(day))
    ).all():
        days[str(value)] += count
    today = now.astimezone(zone).date()
    out.per_day = [
        (today - timedelta(days=n), days[(today - timedelta(days=n)).isoformat()])
        for n in range(DAYS - 1, -1, -1)
    ]
    kind = case(
        ((Request.outcome == "answer") & Request.cluster_id.is_(None), "automatic"),
        (Request.answered_at.is_not(None), "staff"),
        else_="waiting",
    )
    for value, count in (
        await session.execute(select(kind, func.count()).where(recent).group_by(kind))
    ).all():
        setattr(out, {"automatic": "automatic", "staff": "by_staff"}.get(value, "waiting"), count)
    out.total = out.automatic + out.by_staff + out.waiting
    for column, counter in ((Request.language, out.languages), (Request.channel, out.channels)):
        for value, count in (
            await session.execute(select(column, func.count()).where(recent).group_by(column))
        ).all():
            counter[value or "unknown"] += count
    topic = func.coalesce(Cluster.topic, KnowledgeItem.topic, "none")
    topics = (
        select(topic, func.count())
        .select_from(Request)
        .outerjoin(Cluster, Cluster.id == Request.cluster_id)
        .outerjoin(KnowledgeItem, KnowledgeItem.id == Request.matched_item_id)
        .where(recent)
        .group_by(topic)
    )
    for value, count in (await session.execute(topics)).all():
        out.topics[value] += count
    week = (
        select(Request.cluster_id, func.count(func.distinct(Request.resident_id)).label("n"))
        .where(Request.received_at >= now - timedelta(days=7), Request.cluster_id.is_not(None))
        .group_by(Request.cluster_id)
        .order_by(func.count(func.distinct(Request.resident_id)).desc(), Request.cluster_id)
        .limit(10)
    )
    top = [(int(cid), int(n)) for cid, n in (await session.execute(week)).all() if cid]
    found = {
        c.id: c
        for c in (
            await session.scalars(select(Cluster).where(Cluster.id.in_([c for c, _ in top])))
        ).all()
    }
    out.top_week = [(found[cid], n) for cid, n in top if cid in found]
    out.median_hours = await median_hours_to_answer(session)
    return out


async def median_hours_to_answer(session: AsyncSession) -> float | None:
    query = (
        select(Answer.published_at, Cluster.first_seen_at)
        .join(Cluster, Cluster.id == Answer.cluster_id)
        .where(Answer.published_at.is_not(None))
    )
    hours = [
        (published - first).total_seconds() / 3600
        for published, first in (await session.execute(query)).all()
        if published is not None and first is not None
    ]
    return round(statistics.median(hours), 1) if hours else None
