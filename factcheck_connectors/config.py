"""Sources declared in a TOML file (`RUMOURBOT_SOURCES_FILE`, default `sources.toml`).

    [[sources]]
    name = "city-press"
    kind = "rss"
    url = "https://city.example/press.xml"
    interval_minutes = 15

Every other key is the kind's configuration. File sources are stored with `managed_by = "file"`
so the panel shows them read-only; a source removed from the file is disabled, not deleted.
A push source's `token` is stored hashed. An invalid entry is logged and skipped.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.models import Source, utcnow
from factcheck_connectors import registry
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.manage import check_config
from factcheck_connectors.push import hash_token
from factcheck_connectors.runner import connector_context

log = logging.getLogger(__name__)


def read_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceInvalid(f"{path}: {exc}") from exc
    entries = data.get("sources") or []
    if not isinstance(entries, list):
        raise SourceInvalid(f"{path}: 'sources' must be an array of tables ([[sources]])")
    return [e for e in entries if isinstance(e, dict)]


async def load_config_file(services: ConnectorServices, path: Path | None = None) -> list[str]:
    """Bring file-managed sources in line with the file; returns the names loaded."""
    path = path or Path(services.settings.sources_file)
    loaded: list[str] = []
    for entry in read_file(path):
        name, kind = str(entry.get("name") or ""), str(entry.get("kind") or "")
        enabled = bool(entry.get("enabled", True))
        config = {k: str(v) for k, v in entry.items() if k not in {"name", "kind", "enabled"}}
        token = config.pop("token", None) if kind == "push" else None
        try:
            check_config(kind, name, {**config, **({"token": token} if token else {})})
            registry.build(kind, config, connector_context(services))
        except SourceInvalid as exc:
            log.error("%s: source %r skipped: %s", path, name or "?", exc)
            continue
        await _save(services, name, kind, config, enabled, token)
        loaded.append(name)
    await _disable_missing(services, set(loaded))
    return loaded


async def _save(
    services: ConnectorServices,
    name: str,
    kind: str,
    config: dict[str, str],
    enabled: bool,
    token: str | None,
) -> None:
    async with services.db.session() as session:
        source = (await session.scalars(select(Source).where(Source.name == name))).first()
        if source is None:
            source = Source(
                name=name,
                kind=kind,
                cursor={},
                items_total=0,
                last_run_items=0,
                failures=0,
                next_run_at=utcnow(),
            )
            session.add(source)
        elif source.kind != kind:
            source.cursor = {}
        source.kind, source.config, source.enabled, source.managed_by = (
            kind,
            config,
            enabled,
            "file",
        )
        if token:
            source.token_hash = hash_token(token)


async def _disable_missing(services: ConnectorServices, names: set[str]) -> None:
    async with services.db.session() as session:
        query = select(Source).where(Source.managed_by == "file")
        for source in (await session.scalars(query)).all():
            if source.name not in names and source.enabled:
                log.info("source %s is no longer in the sources file; disabled", source.name)
                source.enabled = False
