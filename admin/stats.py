"""Numbers for the dashboard and the council report: SQL aggregates (GROUP BY in the database), computed once per page.

Days are the city's days (`RUMOURBOT_TIME_ZONE`): PostgreSQL converts each timestamp with the
zone's rules; SQLite shifts by the zone's current UTC offset (exact except across a daylight-
saving change within the window).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    Answer,
    Broadcast,
    BroadcastRecipient,
    Cluster,
    KnowledgeItem,
    Request,
    utcnow,
)

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
    kind = case(
        ((Request.outcome == "answer") & Request.cluster_id.is_(None), "automatic"),
        (Request.answered_at.is_not(None), "staff"),
        else_="waiting",
    )
    topic = func.coalesce(Cluster.topic, KnowledgeItem.topic, "none")
    # one pass over the window: every breakdown is a sum over these groups
    grouped = (
        select(day, kind, Request.language, Request.channel, topic, func.count())
        .select_from(Request)
        .outerjoin(Cluster, Cluster.id == Request.cluster_id)
        .outerjoin(KnowledgeItem, KnowledgeItem.id == Request.matched_item_id)
        .where(recent)
        .group_by(day, kind, Request.language, Request.channel, topic)
    )
    days: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for day_value, kind_value, language, channel, topic_value, count in (
        await session.execute(grouped)
    ).all():
        days[str(day_value)] += count
        kinds[kind_value] += count
        out.languages[language or "unknown"] += count
        out.channels[channel] += count
        out.topics[topic_value] += count
    today = now.astimezone(zone).date()
    out.per_day = [
        (today - timedelta(days=n), days[(today - timedelta(days=n)).isoformat()])
        for n in range(DAYS - 1, -1, -1)
    ]
    out.automatic, out.by_staff, out.waiting = kinds["automatic"], kinds["staff"], kinds["waiting"]
    out.total = out.automatic + out.by_staff + out.waiting
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


@dataclass(frozen=True)
class TopRumour:
    """A rumour of the period: a staff-queue cluster or a fact-check answered automatically."""

    text: str
    residents: int
    requests: int
    asked: str | None = None  # the residents' words, when the published claim differs
    cluster_id: int | None = None
    verdict: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None


@dataclass
class Report:
    """A council report for the city's days `start` to `end` (both included)."""

    start: date
    end: date
    total: int = 0
    residents: int = 0
    weeks: list[tuple[date, int]] = field(default_factory=list)
    topics: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    automatic: int = 0
    by_staff: int = 0
    waiting: int = 0
    answered_rumours: int = 0
    first_answer_median_hours: float | None = None
    first_answer_p90_hours: float | None = None
    reached_by_answers: int = 0
    broadcasts: int = 0
    reached_by_broadcasts: int = 0
    helpful: int = 0
    not_helpful: int = 0
    top: list[TopRumour] = field(default_factory=list)
    top_automatic: list[TopRumour] = field(default_factory=list)

    @property
    def feedback(self) -> int:
        return self.helpful + self.not_helpful


def utc_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[first instant of `start`, first instant after `end`) in the city's zone, as UTC."""
    low = datetime.combine(start, time(), zone).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return low, high


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1) of `values`."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def report(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> Report:
    """Every figure of the council report, each a SQL aggregate over the period's requests."""
    low, high = utc_bounds(start, end, zone)
    out = Report(start, end)
    within = (Request.received_at >= low) & (Request.received_at < high)
    day = local_day(session, Request.received_at, zone, low)
    days: Counter[date] = Counter()
    for day_value, count in (
        await session.execute(select(day, func.count()).where(within).group_by(day))
    ).all():
        days[date.fromisoformat(str(day_value))] += count
    monday = start - timedelta(days=start.weekday())
    weeks: Counter[date] = Counter()
    for when, count in days.items():
        weeks[when - timedelta(days=when.weekday())] += count
    out.weeks = [
        (monday + timedelta(weeks=n), weeks[monday + timedelta(weeks=n)])
        for n in range((end - monday).days // 7 + 1)
    ]
    await _breakdowns(session, within, out)
    people = select(
        func.count(func.distinct(Request.resident_id)),
        func.count(
            func.distinct(case((Request.answered_at.is_not(None), Request.resident_id)))
        ),
    ).where(within)
    out.residents, out.reached_by_answers = (await session.execute(people)).one()
    await _broadcasts(session, low, high, out)
    await _first_answers(session, low, high, out)
    out.top = await _top_clusters(session, within)
    out.top_automatic = await _top_automatic(session, within)
    return out


async def _breakdowns(session: AsyncSession, within: Any, out: Report) -> None:
    kind = case(
        ((Request.outcome == "answer") & Request.cluster_id.is_(None), "automatic"),
        (Request.answered_at.is_not(None), "staff"),
        else_="waiting",
    )
    topic = func.coalesce(Cluster.topic, KnowledgeItem.topic, "none")
    grouped = (
        select(kind, Request.language, Request.channel, topic, Request.helpful, func.count())
        .select_from(Request)
        .outerjoin(Cluster, Cluster.id == Request.cluster_id)
        .outerjoin(KnowledgeItem, KnowledgeItem.id == Request.matched_item_id)
        .where(within)
        .group_by(kind, Request.language, Request.channel, topic, Request.helpful)
    )
    kinds: Counter[str] = Counter()
    for kind_value, language, channel, topic_value, helpful, count in (
        await session.execute(grouped)
    ).all():
        kinds[kind_value] += count
        out.languages[language or "unknown"] += count
        out.channels[channel] += count
        out.topics[topic_value] += count
        if helpful is True:
            out.helpful += count
        elif helpful is False:
            out.not_helpful += count
    out.automatic, out.by_staff, out.waiting = kinds["automatic"], kinds["staff"], kinds["waiting"]
    out.total = out.automatic + out.by_staff + out.waiting


async def _broadcasts(session: AsyncSession, low: datetime, high: datetime, out: Report) -> None:
    sent = (Broadcast.created_at >= low) & (Broadcast.created_at < high)
    out.broadcasts = int(await session.scalar(select(func.count(Broadcast.id)).where(sent)) or 0)
    out.reached_by_broadcasts = int(
        await session.scalar(
            select(func.count(func.distinct(BroadcastRecipient.resident_id)))
            .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
            .where(sent)
        )
        or 0
    )


async def _first_answers(
    session: AsyncSession, low: datetime, high: datetime, out: Report
) -> None:
    """First ask to first published answer, for the rumours first asked in the period."""
    first = (
        select(Cluster.first_seen_at, func.min(Answer.published_at))
        .join(Answer, Answer.cluster_id == Cluster.id)
        .where(Cluster.first_seen_at >= low, Cluster.first_seen_at < high)
        .where(Answer.published_at.is_not(None))
        .group_by(Cluster.id, Cluster.first_seen_at)
    )
    hours = [
        max(0.0, (_aware(published) - _aware(asked)).total_seconds() / 3600)
        for asked, published in (await session.execute(first)).all()
        if published is not None and asked is not None
    ]
    out.answered_rumours = len(hours)
    out.first_answer_median_hours = _hours(statistics.median(hours)) if hours else None
    out.first_answer_p90_hours = _hours(percentile(hours, 0.9))


def _aware(value: Any) -> datetime:
    """A timestamp from an aggregate (SQLite's MIN gives text) as an aware datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _top_clusters(session: AsyncSession, within: Any, limit: int = 10) -> list[TopRumour]:
    people = func.count(func.distinct(Request.resident_id))
    ranked = (
        select(Request.cluster_id, people, func.count())
        .where(within, Request.cluster_id.is_not(None))
        .group_by(Request.cluster_id)
        .order_by(people.desc(), Request.cluster_id)
        .limit(limit)
    )
    counts = {int(c): (int(p), int(n)) for c, p, n in (await session.execute(ranked)).all()}
    if not counts:
        return []
    rows = (
        await session.execute(
            select(Cluster, Answer, KnowledgeItem)
            .outerjoin(Answer, Answer.id == Cluster.answer_id)
            .outerjoin(KnowledgeItem, KnowledgeItem.id == Answer.knowledge_item_id)
            .where(Cluster.id.in_(list(counts)))
        )
    ).all()
    found = {cluster.id: (cluster, answer, item) for cluster, answer, item in rows}
    top = []
    for cluster_id, (residents, requests) in counts.items():
        if cluster_id not in found:
            continue
        cluster, answer, item = found[cluster_id]
        top.append(
            TopRumour(
                text=item.claim if item is not None else cluster.representative_text,
                asked=cluster.representative_text
                if item is not None and item.claim != cluster.representative_text
                else None,
                residents=residents,
                requests=requests,
                cluster_id=cluster_id,
                verdict=answer.verdict if answer is not None else None,
                answer=answer.explanation if answer is not None else None,
                answered_at=answer.published_at if answer is not None else None,
            )
        )
    return top


async def _top_automatic(session: AsyncSession, within: Any, limit: int = 5) -> list[TopRumour]:
    people = func.count(func.distinct(Request.resident_id))
    ranked = (
        select(Request.matched_item_id, people, func.count())
        .where(within, Request.cluster_id.is_(None), Request.outcome == "answer")
        .where(Request.matched_item_id.is_not(None))
        .group_by(Request.matched_item_id)
        .order_by(people.desc(), Request.matched_item_id)
        .limit(limit)
    )
    counts = {int(i): (int(p), int(n)) for i, p, n in (await session.execute(ranked)).all()}
    if not counts:
        return []
    items = {
        item.id: item
        for item in (
            await session.scalars(select(KnowledgeItem).where(KnowledgeItem.id.in_(list(counts))))
        ).all()
    }
    return [
        TopRumour(
            text=items[i].claim,
            residents=p,
            requests=n,
            verdict=items[i].verdict,
            answer=items[i].explanation,
        )
        for i, (p, n) in counts.items()
        if i in items
    ]
