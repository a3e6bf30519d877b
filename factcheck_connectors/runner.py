"""The one runner every source shares: schedule, retry with backoff, write, record, log once.

A connector only fetches. The runner owns the rest, as Home Assistant's update coordinator
does: the interval, retries (honouring Retry-After), storing the cursor, de-duplication (in
`store.ingest`), per-source status, and logging a failure once and the recovery once.
Items are written in batches; after each batch the knowledge index is refreshed, so items
enter matching as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.knowledge import ItemData
from domain.leases import leased
from domain.models import ItemStatus, KnowledgeItem, Source, utcnow
from factcheck_connectors import registry
from factcheck_connectors.base import (
    ConnectorContext,
    FetchResult,
    PublicOnlyTransport,
    SourceInvalid,
    SourceUnavailable,
)
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.store import IngestCounts, ingest

log = logging.getLogger(__name__)
BATCH = 500
LEASE = timedelta(minutes=30)  # one process runs a source at a time (domain.leases)
MAX_INLINE_WAIT = 60.0  # a longer Retry-After is honoured by scheduling, not by sleeping
Progress = Callable[[int, int], None]  # (items written, items fetched)
_locks: dict[str, asyncio.Lock] = {}


def origin_of(name: str) -> str:
    return f"source:{name}"


@dataclass
class SyncReport:
    """One run of a source: how it ended (ok, error, skipped), then what it fetched and wrote,
    in how many attempts and seconds."""

    source: str
    ok: bool
    error: str | None = None
    skipped: bool = False  # another process holds this source's lease
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    retired: int = 0
    attempts: int = 0
    seconds: float = 0.0


def connector_context(services: ConnectorServices) -> ConnectorContext:
    settings = services.settings
    key = settings.google_factcheck_api_key
    return ConnectorContext(
        google_api_key=key.get_secret_value() if key else None,
        google_url=settings.google_factcheck_url,
        max_bytes=settings.connector_max_bytes,
    )


def make_client(
    services: ConnectorServices, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The connectors' client: redirects followed, every hop to a public address only."""
    if transport is None:
        raw = services.settings.connector_private_hosts
        allowed = frozenset(h.strip().lower() for h in raw.split(",") if h.strip())
        transport = PublicOnlyTransport(allowed)
    return httpx.AsyncClient(
        timeout=services.settings.connector_timeout,
        transport=transport,
        follow_redirects=True,
        max_redirects=5,
    )


def interval_of(source: Source, default: float) -> float:
    raw = str((source.config or {}).get("interval_minutes") or "").strip()
    try:
        return max(60.0, float(raw) * 60) if raw else default
    except ValueError:
        return default


class Runner:
    """Runs sources: `run_due` for what is due, `run_source` for one now, `run_forever`."""

    def __init__(
        self,
        services: ConnectorServices,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        concurrency: int = 3,
    ) -> None:
        self.services = services
        self.client = client
        self.sleep = sleep
        self.concurrency = concurrency

    async def run_due(self) -> list[SyncReport]:
        now = utcnow()
        async with self.services.db.session() as session:
            sources = (
                await session.scalars(
                    select(Source).where(Source.enabled.is_(True)).order_by(Source.name)
                )
            ).all()
        kinds = registry.available()
        due = [
            s.name
            for s in sources
            if s.kind in kinds
            and kinds[s.kind].spec.scheduled
            and (s.next_run_at is None or s.next_run_at <= now)
        ]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(name: str) -> SyncReport:
            async with gate:
                return await self.run_source(name)

        return list(await asyncio.gather(*(one(n) for n in due)))

    async def run_forever(self, stop: asyncio.Event, tick: float = 30.0) -> None:
        """Load the sources file, then run what is due every `tick` seconds until `stop`."""
        from factcheck_connectors.config import load_config_file  # config imports the runner

        try:
            await load_config_file(self.services)
        except SourceInvalid as exc:
            log.error("sources file not loaded: %s", exc)
        while not stop.is_set():
            try:
                await self.run_due()
            except Exception:
                log.exception("source runner failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)

    async def run_source(self, name: str, progress: Progress | None = None) -> SyncReport:
        lock = _locks.setdefault(name, asyncio.Lock())
        async with lock, leased(self.services.db, f"source:{name}", LEASE) as mine:
            if not mine:  # another worker is running this source right now
                return SyncReport(source=name, ok=True, skipped=True)
            if self.client is not None:
                return await self._run(name, self.client, progress)
            async with make_client(self.services) as client:
                return await self._run(name, client, progress)

    async def _run(
        self, name: str, client: httpx.AsyncClient, progress: Progress | None
    ) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(source=name, ok=False)
        async with self.services.db.session() as session:
            source = await source_row(session, name)
            kind, config, cursor = source.kind, dict(source.config or {}), dict(source.cursor or {})
        try:
            connector = registry.build(kind, config, connector_context(self.services))
            result = await self._fetch_with_retries(connector, client, cursor, report)
            await self._write(name, result, report, progress)
        except (SourceUnavailable, SourceInvalid) as exc:
            report.error = str(exc) or type(exc).__name__
            retry_after = exc.retry_after if isinstance(exc, SourceUnavailable) else None
            await self._record_failure(name, report.error, retry_after)
        except Exception as exc:  # deep JSON, a database error...: recorded all the same
            log.exception("source %s: unexpected error", name)
            report.error = f"unexpected error ({type(exc).__name__}); see the log"
            try:
                await self._record_failure(name, report.error, None)
            except Exception as record_exc:
                log.error("source %s: failure not recorded (%s)", name, type(record_exc).__name__)
        else:
            report.ok = True
        report.seconds = round(time.monotonic() - started, 3)
        return report

    async def _fetch_with_retries(
        self, connector: Any, client: httpx.AsyncClient, cursor: dict[str, Any], report: SyncReport
    ) -> FetchResult:
        attempts = self.services.settings.connector_retries
        base = self.services.settings.connector_backoff_seconds
        for attempt in range(1, attempts + 1):
            report.attempts = attempt
            try:
                result: FetchResult = await connector.fetch(client, cursor)
                return result
            except SourceUnavailable as exc:
                wait = exc.retry_after if exc.retry_after is not None else base * 2 ** (attempt - 1)
                if attempt == attempts or wait > MAX_INLINE_WAIT:
                    raise
                log.debug(
                    "%s: attempt %d failed (%s); retrying in %.1fs",
                    report.source,
                    attempt,
                    exc,
                    wait,
                )
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def _write(
        self, name: str, result: FetchResult, report: SyncReport, progress: Progress | None
    ) -> None:
        items: Sequence[ItemData] = result.items
        report.fetched = len(items)
        counts = IngestCounts()
        origin = origin_of(name)
        batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)] or [[]]
        for number, batch in enumerate(batches, start=1):
            last = number == len(batches)
            async with self.services.db.session() as session:
                retired = result.retired_external_ids if last else ()
                counts.add(await ingest(session, origin, batch, retired))
                if last:
                    await self._record_success(session, name, result.cursor, counts)
            await self.services.items_written()
            if progress is not None:
                progress(min(number * BATCH, len(items)), len(items))
        report.changed, report.unchanged = counts.changed, counts.unchanged
        report.duplicates, report.retired = counts.duplicates, counts.retired

    async def _record_success(
        self, session: Any, name: str, cursor: dict[str, Any], counts: IngestCounts
    ) -> None:
        source = await source_row(session, name)
        if source.failures:
            log.info("source %s recovered after %d failed run(s)", name, source.failures)
        now = utcnow()
        source.cursor = cursor
        source.failures = 0
        source.last_success_at = now
        source.last_run_items = counts.changed
        source.items_total = await count_items(session, name)
        source.next_run_at = now + timedelta(
            seconds=interval_of(source, self.services.settings.sync_interval_seconds)
        )

    async def _record_failure(self, name: str, error: str, retry_after: float | None) -> None:
        async with self.services.db.session() as session:
            source = await source_row(session, name)
            if source.failures == 0:
                log.warning("source %s failed: %s", name, error)
            else:
                log.debug("source %s still failing: %s", name, error)
            source.failures += 1
            source.last_error = error[:2000]
            source.last_error_at = utcnow()
            source.last_run_items = 0
            source.next_run_at = next_attempt(
                source, self.services.settings.sync_interval_seconds, retry_after
            )


def next_attempt(source: Source, default_interval: float, retry_after: float | None) -> datetime:
    """Back off: 1, 2, 4 ... minutes after consecutive failures, never past the interval,
    and never sooner than the source's own Retry-After."""
    interval = interval_of(source, default_interval)
    backoff = min(interval, 60.0 * 2 ** max(0, source.failures - 1))
    return utcnow() + timedelta(seconds=max(backoff, retry_after or 0.0))


async def count_items(session: Any, name: str) -> int:
    query = (
        select(func.count())
        .select_from(KnowledgeItem)
        .where(KnowledgeItem.origin == origin_of(name), KnowledgeItem.status == ItemStatus.ACTIVE)
    )
    return int((await session.execute(query)).scalar_one())


async def source_row(session: AsyncSession, name: str) -> Source:
    source = (await session.scalars(select(Source).where(Source.name == name))).first()
    if source is None:
        raise SourceInvalid(f"there is no source named {name!r}")
    return source
