"""The queue: clusters ranked by the people asking; similar clusters; merge, undo, split.

Priority counts people, not messages: one resident sending the same rumour 24 times is one
resident. It rises with how many residents asked, how much faster they are asking now than
usual (residents in the last hour against the hourly rate of the day before), and how far the
rumour has spread (each extra channel or language). Every figure is a SQL aggregate, computed
once per page for the clusters shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import audit
from bot.amplifiers.reports import field_report_areas
from bot.texts.catalogue import resolve_language
from domain.models import (
    Answer,
    AuditEvent,
    Cluster,
    ClusterStatus,
    KnowledgeItem,
    Request,
    utcnow,
)

GROWTH_WEIGHT = 3.0
SPREAD_WEIGHT = 2.0
CLOSED_STATUSES = (ClusterStatus.SPAM, ClusterStatus.NOT_A_CLAIM, ClusterStatus.OUT_OF_SCOPE)
SORTS = ("priority", "newest", "residents")
FIELD_REPORT_RANK = 1e9  # clusters with a field report first, by priority among themselves


class ClusterError(ValueError):
    """A merge or split that cannot be done; the message is safe to show to staff."""


@dataclass
class ClusterRow:
    """One line of the queue."""

    cluster: Cluster
    askers: int = 0
    requests: int = 0
    last_hour: int = 0  # distinct residents in the last hour
    previous_day: int = 0  # distinct residents in the 24 hours before that
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    languages: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    field_reports: list[str] | None = None  # trusted reporters' areas, when any reported it

    @property
    def usual_per_hour(self) -> float:
        return self.previous_day / 24

    @property
    def growth(self) -> float:
        """Residents in the last hour beyond the usual hourly rate (never negative)."""
        return max(0.0, self.last_hour - self.usual_per_hour)

    @property
    def spread(self) -> int:
        """Extra channels and languages beyond the first of each."""
        return max(0, len(self.channels) - 1) + max(0, len(self.languages) - 1)

    @property
    def priority(self) -> float:
        return round(self.askers + GROWTH_WEIGHT * self.growth + SPREAD_WEIGHT * self.spread, 1)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    language: str = ""
    topic: str = ""
    assignee: str = ""
    search: str = ""
    needs_translation: str = ""
    sort: str = "priority"

    def statuses(self) -> list[str]:
        if self.status == "open":
            return [ClusterStatus.NEW, ClusterStatus.IN_REVIEW]
        if self.status == "closed":
            return list(CLOSED_STATUSES)
        if self.status in {s.value for s in ClusterStatus}:
            return [self.status]
        return [s.value for s in ClusterStatus if s != ClusterStatus.MERGED]


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def queue(
    session: AsyncSession, filters: QueueFilter, now: datetime | None = None
) -> list[ClusterRow]:
    """Clusters matching `filters`, sorted (highest priority first by default)."""
    now = now or utcnow()
    query = select(Cluster).where(Cluster.status.in_(filters.statuses()))
    if filters.topic:
        query = query.where(Cluster.topic == filters.topic)
    if filters.assignee == "-":
        query = query.where(Cluster.assignee.is_(None))
    elif filters.assignee:
        query = query.where(Cluster.assignee == filters.assignee)
    if filters.search:
        pattern = _like(filters.search.lower())
        in_messages = (
            select(Request.cluster_id)
            .where(func.lower(Request.text).like(pattern, escape="\\"))
            .where(Request.cluster_id.is_not(None))
        )
        query = query.where(
            or_(
                func.lower(Cluster.representative_text).like(pattern, escape="\\"),
                Cluster.id.in_(in_messages),
            )
        )
    if filters.language:
        with_language = select(Request.cluster_id).where(Request.language == filters.language)
        query = query.where(Cluster.id.in_(with_language))
    clusters = list((await session.scalars(query)).all())
    rows = await summarise(session, clusters, now)
    if filters.status == "open":
        rows = [r for r in rows if r.askers > 0]  # every message was split or merged away
    if filters.needs_translation:
        missing = await missing_languages(session, [r.cluster for r in rows])
        rows = [r for r in rows if filters.needs_translation in missing.get(r.cluster.id, set())]

    def key(row: ClusterRow) -> tuple[float, float, int]:
        recency = -(row.last_seen or now).timestamp()
        if filters.sort == "newest":
            return (recency, 0.0, row.cluster.id)
        first = -row.askers if filters.sort == "residents" else -row.priority
        if filters.sort == "priority" and row.field_reports is not None:
            first -= FIELD_REPORT_RANK  # a field report is ranked above anonymous requests
        return (first, recency, row.cluster.id)

    return sorted(rows, key=key)


async def summarise(
    session: AsyncSession, clusters: list[Cluster], now: datetime
) -> list[ClusterRow]:
    """Residents, requests, growth and spread of `clusters`: three grouped queries."""
    rows = {c.id: ClusterRow(c) for c in clusters}
    if not rows:
        return []
    ids = list(rows)
    hour_ago, day_before = now - timedelta(hours=1), now - timedelta(hours=25)
    totals = select(
        Request.cluster_id,
        func.count(distinct(Request.resident_id)),
        func.count(Request.id),
        func.count(distinct(case((Request.received_at >= hour_ago, Request.resident_id)))),
        func.count(
            distinct(
                case(
                    (
                        (Request.received_at < hour_ago) & (Request.received_at >= day_before),
                        Request.resident_id,
                    )
                )
            )
        ),
        func.min(Request.received_at),
        func.max(Request.received_at),
    ).group_by(Request.cluster_id)
    for chunk in _chunks(ids):
        for cluster_id, askers, requests, last_hour, previous, first, last in (
            await session.execute(totals.where(Request.cluster_id.in_(chunk)))
        ).all():
            row = rows[cluster_id or 0]
            row.askers, row.requests = askers, requests
            row.last_hour, row.previous_day = last_hour, previous
            row.first_seen, row.last_seen = first, last
        spread = (
            select(Request.cluster_id, Request.language, Request.channel)
            .where(Request.cluster_id.in_(chunk))
            .group_by(Request.cluster_id, Request.language, Request.channel)
        )
        for cluster_id, language, channel in (await session.execute(spread)).all():
            if language:
                rows[cluster_id or 0].languages.add(language)
            rows[cluster_id or 0].channels.add(channel)
    for cluster_id, areas in (await field_report_areas(session, ids)).items():
        rows[cluster_id].field_reports = areas
    for row in rows.values():
        row.first_seen = row.first_seen or row.cluster.first_seen_at
        row.last_seen = row.last_seen or row.cluster.last_seen_at
    return list(rows.values())


def _chunks(ids: list[int], size: int = 5000) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def missing_languages(session: AsyncSession, clusters: list[Cluster]) -> dict[int, set[str]]:
    """For answered clusters: languages residents asked in that the answer is not written in."""
    answered = {c.answer_id: c.id for c in clusters if c.answer_id is not None}
    if not answered:
        return {}
    written: dict[int, set[str]] = {}
    query = select(Answer.id, KnowledgeItem.language, KnowledgeItem.translations).join(
        KnowledgeItem, Answer.knowledge_item_id == KnowledgeItem.id
    )
    for chunk in _chunks(list(answered)):
        for answer_id, language, translations in (
            await session.execute(query.where(Answer.id.in_(chunk)))
        ).all():
            written[answered[answer_id]] = item_languages(language, translations)
    asked: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(list(written)):
        spoken = (
            select(Request.cluster_id, Request.language)
            .where(Request.cluster_id.in_(chunk))
            .group_by(Request.cluster_id, Request.language)
        )
        for cluster_id, language in (await session.execute(spoken)).all():
            if language and cluster_id is not None:
                asked[cluster_id].add(resolve_language(language))
    return {cid: asked[cid] - langs for cid, langs in written.items() if asked[cid] - langs}


def item_languages(language: str, translations: dict[str, Any] | None) -> set[str]:
    """Languages a knowledge item can be read in: its own, and each translation with text."""
    found = {language}
    for lang, fields in (translations or {}).items():
        if isinstance(fields, dict) and (fields.get("explanation") or "").strip():
            found.add(lang)
    return found


def snapshot(cluster: Cluster) -> dict[str, Any]:
    return audit.fields(cluster, "status", "assignee", "topic", "ask_count")


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


@dataclass
class MergePlan:
    """What a merge will do, for the confirmation page and the merge itself."""

    source: Cluster
    target: Cluster
    requests: list[Request]
    residents: int
    target_answer: Answer | None


async def plan_merge(session: AsyncSession, source_id: int, target_id: int) -> MergePlan:
    if source_id == target_id:
        raise ClusterError("A cluster cannot be merged into itself.")
    source = await session.get(Cluster, source_id)
    target = await session.get(Cluster, target_id)
    if source is None or target is None:
        raise ClusterError("That cluster does not exist.")
    if source.answer_id is not None:
        raise ClusterError(
            "An answered cluster cannot be merged away; merge the other one into it instead."
        )
    if source.status == ClusterStatus.MERGED:
        raise ClusterError(f"Cluster #{source.id} was already merged.")
    if target.status == ClusterStatus.MERGED:
        raise ClusterError(f"Cluster #{target.id} was merged into another; merge into that one.")
    moved = await requests_of(session, source.id)
    answer = await session.get(Answer, target.answer_id) if target.answer_id else None
    return MergePlan(source, target, moved, len({r.resident_id for r in moved}), answer)


@dataclass(frozen=True)
class MergeResult:
    source: Cluster
    target: Cluster
    moved: list[int]
    source_before: dict[str, Any]


async def merge(session: AsyncSession, source_id: int, target_id: int) -> MergeResult:
    """Move every request of `source` into `target`; `source` is closed as merged."""
    plan = await plan_merge(session, source_id, target_id)
    source, target = plan.source, plan.target
    before = {"status": source.status, "representative_text": source.representative_text}
    for request in plan.requests:
        request.cluster_id = target.id
    await session.flush()
    source.status = ClusterStatus.MERGED
    source.representative_text = f"[merged into #{target.id}] {source.representative_text}"[:2000]
    await _recount(session, source)
    await _recount(session, target)
    return MergeResult(source, target, [r.id for r in plan.requests], before)


async def undo_merge(
    session: AsyncSession, cluster_id: int, event_id: int
) -> tuple[Cluster, Cluster, int]:
    """Put the requests a merge into `cluster_id` moved back into their cluster, as it was."""
    event = await session.get(AuditEvent, event_id)
    if event is None or event.name != "merge" or event.target != f"cluster:{cluster_id}":
        raise ClusterError("That is not a merge into this cluster.")
    after, before = event.after or {}, event.before or {}
    source = await session.get(Cluster, int(after.get("cluster", 0)))
    target = await session.get(Cluster, cluster_id)
    if source is None or target is None:
        raise ClusterError("The merged cluster no longer exists.")
    if event_id in await undone_merges(session, cluster_id):
        raise ClusterError("This merge was already undone.")
    ids = [int(i) for i in after.get("requests", [])]
    moved = list(
        (
            await session.scalars(
                select(Request).where(Request.id.in_(ids), Request.cluster_id == target.id)
            )
        ).all()
    )
    for request in moved:
        request.cluster_id = source.id
    await session.flush()
    source.status = before.get("status") or ClusterStatus.NEW
    source.representative_text = before.get("representative_text") or source.representative_text
    await _recount(session, source)
    await _recount(session, target)
    return source, target, len(moved)


async def undone_merges(session: AsyncSession, cluster_id: int) -> set[int]:
    query = select(AuditEvent.before).where(
        AuditEvent.name == "unmerge", AuditEvent.target == f"cluster:{cluster_id}"
    )
    return {int((b or {}).get("merge", 0)) for b in (await session.scalars(query)).all()}


async def history(session: AsyncSession, cluster_id: int) -> list[tuple[AuditEvent, bool]]:
    """What staff did to a cluster, newest first, and whether each merge can be undone."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.target == f"cluster:{cluster_id}")
        .order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
        .limit(200)
    )
    events = list((await session.scalars(query)).all())
    undone = await undone_merges(session, cluster_id)
    return [(e, e.name == "merge" and e.id not in undone) for e in events]


async def split(session: AsyncSession, request_id: int) -> tuple[Cluster, Cluster]:
    """Take one request out of its cluster (answered or not) into a new open cluster."""
    request = await session.get(Request, request_id)
    if request is None or request.cluster_id is None:
        raise ClusterError("That request is not in a cluster.")
    old = await session.get(Cluster, request.cluster_id)
    assert old is not None
    if len(await requests_of(session, old.id)) <= 1:
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
