"""Managing sources, for the admin panel and the CLI: list, add (fetched once first), run,
enable/disable, remove. Secrets are masked in everything returned here."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import Source, utcnow
from domain.text import http_url
from domain.topics import city_topics
from factcheck_connectors import registry
from factcheck_connectors.base import ConnectorSpec, SourceInvalid
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.push import hash_token, new_token
from factcheck_connectors.runner import (
    Runner,
    SyncReport,
    connector_context,
    interval_of,
    make_client,
    origin_of,
    source_row,
)
from factcheck_connectors.store import ingest

MASK = "••••••"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
KINDS: dict[str, ConnectorSpec] = {kind: cls.spec for kind, cls in registry.available().items()}
ADDRESS_FIELDS = ("url", "urls", "location")  # fields that name where a source is fetched from
# An audit hook: called in the transaction that changes the source, with before and after.
Audit = Callable[[AsyncSession, dict[str, Any] | None, dict[str, Any] | None], Awaitable[None]]


@dataclass
class SourceStatus:
    name: str
    kind: str
    enabled: bool
    config: dict[str, str]
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    items_total: int
    last_run_items: int
    next_run_at: datetime | None
    state: str = "new"  # new | ok | failing | disabled | push
    managed_by: str = "db"  # "file" when it comes from sources.toml (edit the file instead)
    token: str | None = None  # a push source's token, only in the answer that created it


def _state(source: Source, spec: ConnectorSpec | None) -> str:
    if not source.enabled:
        return "disabled"
    if spec is not None and not spec.scheduled:
        return "push"
    if source.failures:
        return "failing"
    return "ok" if source.last_success_at else "new"


def status_of(source: Source, token: str | None = None) -> SourceStatus:
    spec = registry.available().get(source.kind)
    secrets = set(spec.spec.secret_fields) if spec else set()
    config = {k: (MASK if k in secrets and v else str(v)) for k, v in (source.config or {}).items()}
    if source.token_hash:
        config["token"] = MASK
    return SourceStatus(
        name=source.name,
        kind=source.kind,
        enabled=source.enabled,
        config=config,
        last_success_at=source.last_success_at,
        last_error=source.last_error,
        last_error_at=source.last_error_at,
        items_total=source.items_total,
        last_run_items=source.last_run_items,
        next_run_at=source.next_run_at,
        state=_state(source, spec.spec if spec else None),
        managed_by=source.managed_by,
        token=token,
    )


def audit_state(source: Source) -> dict[str, Any]:
    """What an audit event keeps of a source (secrets masked)."""
    status = status_of(source)
    return {
        "name": status.name,
        "kind": status.kind,
        "enabled": status.enabled,
        "config": status.config,
        "managed_by": status.managed_by,
    }


def check_addresses(config: dict[str, str]) -> None:
    """Addresses given from outside (the panel) are absolute http(s) URLs with a host: no
    `javascript:`, no `file:`, no local paths. Private addresses are refused when fetched
    (`PublicOnlyTransport`, unless RUMOURBOT_CONNECTOR_PRIVATE_HOSTS allows them)."""
    for key in ADDRESS_FIELDS:
        for value in re.split(r"[\s,]+", str(config.get(key) or "").strip()):
            if value and http_url(value) is None:
                raise SourceInvalid(
                    f"'{key}' must be a web address starting with http:// or https:// "
                    f"(got {value[:80]!r})"
                )


async def list_sources(db: Database) -> list[SourceStatus]:
    async with db.session() as session:
        rows = (await session.scalars(select(Source).order_by(Source.name))).all()
        return [status_of(row) for row in rows]


async def get_source(db: Database, name: str) -> SourceStatus | None:
    async with db.session() as session:
        row = (await session.scalars(select(Source).where(Source.name == name))).first()
        return status_of(row) if row else None


def check_config(kind: str, name: str, config: dict[str, str]) -> ConnectorSpec:
    """The kind's spec, after checking the name and that no unknown field was given."""
    factory = registry.available().get(kind)
    if factory is None:
        raise SourceInvalid(
            f"unknown source kind {kind!r}; choose one of {', '.join(sorted(KINDS))}"
        )
    if not NAME_RE.match(name):
        raise SourceInvalid("the name must be 1-63 lowercase letters, digits, '-', '_' or '.'")
    spec = factory.spec
    unknown = set(config) - set(spec.fields) - {"interval_minutes"}
    if unknown:
        raise SourceInvalid(
            f"unknown field(s) for {kind}: {', '.join(sorted(unknown))}; "
            f"expected {', '.join(spec.fields)}"
        )
    missing = [f for f in spec.required if not str(config.get(f) or "").strip()]
    if missing:
        raise SourceInvalid(f"a {kind} source needs {', '.join(missing)}")
    topic = str(config.get("topic") or "").strip()
    if topic and topic not in city_topics():
        raise SourceInvalid(city_topics().unknown_message(topic))
    return spec


async def add_source(
    services: ConnectorServices,
    kind: str,
    name: str,
    config: dict[str, str],
    *,
    client: httpx.AsyncClient | None = None,
    audit: Audit | None = None,
) -> SourceStatus:
    """Build the connector, fetch once, and only then save the source with what it fetched
    (and `audit` it in the same transaction).

    A source that cannot be fetched or yields an unusable payload is refused with
    `SourceInvalid` (a temporary outage too: the message says to try again later)."""
    name = name.strip()
    config = {k: str(v).strip() for k, v in config.items() if str(v).strip()}
    spec = check_config(kind, name, config)
    async with services.db.session() as session:
        if (await session.scalars(select(Source).where(Source.name == name))).first():
            raise SourceInvalid(f"a source named {name!r} already exists")
    token = config.pop("token", None) if kind == "push" else None
    if kind == "push":
        token = token or new_token()
    connector = registry.build(kind, config, connector_context(services))
    result = await _first_fetch(services, connector, client)
    async with services.db.session() as session:
        source = Source(
            name=name,
            kind=kind,
            config=config,
            enabled=True,
            cursor={},
            token_hash=hash_token(token) if token else None,
            items_total=0,
            last_run_items=0,
            failures=0,
            managed_by="db",
        )
        session.add(source)
        await session.flush()
        if spec.scheduled:
            counts = await ingest(
                session, origin_of(name), result.items, result.retired_external_ids
            )
            source.cursor, source.last_success_at = result.cursor, utcnow()
            source.last_run_items = source.items_total = counts.changed
            interval = interval_of(source, services.settings.sync_interval_seconds)
            source.next_run_at = utcnow() + timedelta(seconds=interval)
        if audit is not None:
            await audit(session, None, audit_state(source))
    await services.items_written()
    status = await get_source(services.db, name)
    assert status is not None  # noqa: S101 - just saved
    status.token = token
    return status


async def _first_fetch(
    services: ConnectorServices, connector: Any, client: httpx.AsyncClient | None
) -> Any:
    from factcheck_connectors.base import SourceUnavailable

    async def go(http: httpx.AsyncClient) -> Any:
        try:
            return await connector.fetch(http, {})
        except SourceUnavailable as exc:
            raise SourceInvalid(
                f"the source could not be fetched right now ({exc}); "
                "check the address, or try again later"
            ) from exc

    if client is not None:
        return await go(client)
    async with make_client(services) as http:
        return await go(http)


async def run_source_now(
    services: ConnectorServices, name: str, *, client: httpx.AsyncClient | None = None
) -> SyncReport:
    return await Runner(services, client=client).run_source(name)


async def set_enabled(
    db: Database, name: str, enabled: bool, audit: Audit | None = None
) -> SourceStatus:
    """Pause (False) or resume (True) a source; a resumed one runs at the next tick."""
    async with db.session() as session:
        source = await source_row(session, name)
        before = audit_state(source)
        source.enabled = enabled
        if enabled:
            source.next_run_at = utcnow()
        if audit is not None:
            await audit(session, before, audit_state(source))
        return status_of(source)


async def remove_source(db: Database, name: str, audit: Audit | None = None) -> None:
    """Forget the source; the items it brought stay in the knowledge base."""
    async with db.session() as session:
        source = await source_row(session, name)
        before = audit_state(source)
        await session.delete(source)
        if audit is not None:
            await audit(session, before, None)


async def rotate_token(db: Database, name: str) -> str:
    """A new token for a push source; the old one stops working at once."""
    async with db.session() as session:
        source = await source_row(session, name)
        if source.kind != "push":
            raise SourceInvalid(f"{name} is not a push source")
        token = new_token()
        source.token_hash = hash_token(token)
        return token
