"""Numbers for the dashboard and the council report: SQL aggregates computed once per page.

Days are the city's days (`RUMOURBOT_TIME_ZONE`), exact across daylight-saving changes: each
day's (or week's) UTC bounds are worked out here and counted as index ranges, so no row's
timestamp is converted in SQL. Every other figure is a grouped query over the covering indexes
of revision 0011 (the rows, with their message text, are not read).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers.reach import answer_reach, period_reach
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
class Breakdown:
    """A period's requests by who answered, feedback, language, channel and topic."""

    automatic: int = 0
    by_staff: int = 0
    waiting: int = 0
    helpful: int = 0
    not_helpful: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.automatic + self.by_staff + self.waiting

    @property
    def feedback(self) -> int:
        return self.helpful + self.not_helpful


@dataclass
class Insight(Breakdown):
    per_day: list[tuple[date, int]] = field(default_factory=list)
    top_week: list[tuple[Cluster, int]] = field(default_factory=list)
    median_hours: float | None = None


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of the city's `day`, in UTC (exact across daylight-saving changes)."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


async def counts_between(session: AsyncSession, bounds: list[datetime]) -> list[int]:
    """Requests received in each [bounds[i], bounds[i + 1]): one index range count per span,
    all in one statement (no per-row date arithmetic, and the city's days stay exact)."""
    spans = [
        select(func.count())
        .select_from(Request)
        .where(Request.received_at >= low, Request.received_at < high)
        .scalar_subquery()
        for low, high in itertools.pairwise(bounds)
    ]
    if not spans:
        return []
    return [int(n or 0) for n in (await session.execute(select(*spans))).one()]


async def breakdown(session: AsyncSession, within: Any, out: Breakdown) -> None:
    """Fill `out` from two grouped queries over the period index (no row is read)."""
    automatic = (Request.outcome == "answer") & Request.cluster_id.is_(None)
    staff = case((automatic, 0), (Request.answered_at.is_not(None), 1), else_=0)
    grouped = (
        select(
            Request.language,
            Request.channel,
            func.count(),
            func.sum(case((automatic, 1), else_=0)),
            func.sum(staff),
            func.sum(case((Request.helpful.is_(True), 1), else_=0)),
            func.sum(case((Request.helpful.is_(False), 1), else_=0)),
        )
        .where(within)
        .group_by(Request.language, Request.channel)
    )
    for language, channel, count, auto, by_staff, helpful, unhelpful in (
        await session.execute(grouped)
    ).all():
        out.languages[language or "unknown"] += count
        out.channels[channel] += count
        out.automatic += int(auto or 0)
        out.by_staff += int(by_staff or 0)
        out.waiting += count - int(auto or 0) - int(by_staff or 0)
        out.helpful += int(helpful or 0)
        out.not_helpful += int(unhelpful or 0)
    # topics: the period's (cluster, item) pairs first, then one lookup per pair, not per row
    pairs = (
        select(Request.cluster_id, Request.matched_item_id, func.count().label("n"))
        .where(within)
        .group_by(Request.cluster_id, Request.matched_item_id)
        .subquery()
    )
    topic = func.coalesce(Cluster.topic, KnowledgeItem.topic, "none")
    topics = (
        select(topic, func.sum(pairs.c.n))
        .select_from(pairs)
        .outerjoin(Cluster, Cluster.id == pairs.c.cluster_id)
        .outerjoin(KnowledgeItem, KnowledgeItem.id == pairs.c.matched_item_id)
        .group_by(topic)
    )
    for name, count in (await session.execute(topics)).all():
        out.topics[name] += int(count or 0)


async def insight(
    session: AsyncSession, now: datetime | None = None, zone: ZoneInfo | None = None
) -> Insight:
    """The dashboard: the city's last 30 days up to now."""
    now = now or utcnow()
    zone = zone or ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    bounds = [local_midnight(day, zone) for day in days]
    out = Insight()
    out.per_day = list(zip(days, await counts_between(session, [*bounds, now]), strict=True))
    await breakdown(session, Request.received_at >= bounds[0], out)
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
    answer_id: int | None = None
    reached_directly: int = 0  # residents the answer was sent to in the period
    reached_shared: int = 0  # new residents who came through its shared cards' links


@dataclass
class Report(Breakdown):
    """A council report for the city's days `start` to `end` (both included)."""

    start: date = date.min
    end: date = date.min
    residents: int = 0
    weeks: list[tuple[date, int]] = field(default_factory=list)
    answered_rumours: int = 0
    first_answer_median_hours: float | None = None
    first_answer_p90_hours: float | None = None
    top: list[TopRumour] = field(default_factory=list)
    top_automatic: list[TopRumour] = field(default_factory=list)
    # whom the answers reached (all, directly, through shared cards) and the broadcasts
    reached_by_answers: int = 0
    broadcasts: int = 0
    reached_by_broadcasts: int = 0
    answers_reached_directly: int = 0
    answers_reached_shared: int = 0


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1) of `values`."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def week_starts(start: date, end: date) -> list[date]:
    """The Mondays of the weeks that overlap start..end."""
    monday = start - timedelta(days=start.weekday())
    return [monday + timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]


async def report(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> Report:
    """Every figure of the council report, each a SQL aggregate over the period's requests."""
    low = local_midnight(start, zone)
    high = local_midnight(end + timedelta(days=1), zone)
    out = Report(start=start, end=end)
    within = (Request.received_at >= low) & (Request.received_at < high)
    mondays = week_starts(start, end)
    # each week clipped to the period (a month's first and last weeks are partial)
    bounds = [low, *(local_midnight(m, zone) for m in mondays[1:]), high]
    out.weeks = list(zip(mondays, await counts_between(session, bounds), strict=True))
    await breakdown(session, within, out)
    people = select(
        func.count(func.distinct(Request.resident_id)),
        func.count(func.distinct(case((Request.answered_at.is_not(None), Request.resident_id)))),
    ).where(within)
    out.residents, out.reached_by_answers = (await session.execute(people)).one()
    await _broadcasts(session, low, high, out)
    await _first_answers(session, low, high, out)
    out.top = await _top_clusters(session, within)
    await _answer_reach(session, low, high, out)
    out.top_automatic = await _top_automatic(session, within)
    return out


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


async def _answer_reach(session: AsyncSession, low: datetime, high: datetime, out: Report) -> None:
    """Residents reached by answers in the period, directly and through shared cards' links:
    in total and for each top rumour's answer."""
    total = await period_reach(session, low, high)
    out.answers_reached_directly, out.answers_reached_shared = total.direct, total.shared
    ids = [rumour.answer_id for rumour in out.top if rumour.answer_id is not None]
    reach = await answer_reach(session, ids, since=low, until=high)
    out.top = [
        replace(
            r, reached_directly=reach[r.answer_id].direct, reached_shared=reach[r.answer_id].shared
        )
        if r.answer_id in reach
        else r
        for r in out.top
    ]


async def _first_answers(session: AsyncSession, low: datetime, high: datetime, out: Report) -> None:
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


async def _most_asked(
    session: AsyncSession, key: Any, limit: int, *where: Any
) -> dict[int, tuple[int, int]]:
    """The `limit` values of `key` (a `Request` column) asked by the most residents, in that
    order: value -> (residents, requests)."""
    people = func.count(func.distinct(Request.resident_id))
    ranked = (
        select(key, people, func.count())
        .where(*where, key.is_not(None))
        .group_by(key)
        .order_by(people.desc(), key)
        .limit(limit)
    )
    return {int(k or 0): (int(p), int(n)) for k, p, n in (await session.execute(ranked)).all()}


async def _top_clusters(session: AsyncSession, within: Any, limit: int = 10) -> list[TopRumour]:
    counts = await _most_asked(session, Request.cluster_id, limit, within)
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
                answer_id=answer.id if answer is not None else None,
            )
        )
    return top


async def _top_automatic(session: AsyncSession, within: Any, limit: int = 5) -> list[TopRumour]:
    counts = await _most_asked(
        session, Request.matched_item_id, limit,
        within, Request.cluster_id.is_(None), Request.outcome == "answer",
    )
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
