"""The Sources page: every connector source (sources.toml and the panel's own) with its status;
admins add one (fetched once first, through the same `manage.add_source` the CLI uses), pause,
resume, run now and remove one. Every change is audited in the transaction that makes it."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, requires
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.config import read_file

FIELD_HINTS = {
    "url": "https://",
    "urls": "one or more page addresses, separated by spaces",
    "location": "https:// address of a CSV or JSONL file",
    "language": "en",
    "interval_minutes": "15",
}


def _auditor(request: Request, name: str) -> manage.Audit:
    actor, target = request.state.staff.username, f"source:{name}"

    async def write(
        session: AsyncSession, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        action = "add_source" if before is None else "remove_source" if after is None else ""
        if not action:
            action = "resume_source" if after and after["enabled"] else "pause_source"
        await audit.record(session, action, actor, target, before, after)

    return write


def _file_entries(panel: Panel, stored: set[str]) -> tuple[list[dict[str, str]], str]:
    """Entries of sources.toml not stored yet (the worker loads the file when it starts)."""
    path = Path(panel.services.settings.sources_file)
    try:
        entries = read_file(path)
    except SourceInvalid as exc:
        return [], str(exc)
    waiting = [
        {"name": str(e.get("name") or "?"), "kind": str(e.get("kind") or "?")}
        for e in entries
        if str(e.get("name") or "") not in stored
    ]
    return waiting, ""


@requires("viewer")
async def list_sources(panel: Panel, request: Request) -> Response:
    return await _page(panel, request)


async def _page(panel: Panel, request: Request, status_code: int = 200, **extra: Any) -> Response:
    """The page; `extra` brings back a form that failed (`error`, `values`) or a new source's
    one-time `token`."""
    sources = await manage.list_sources(panel.services.db)
    waiting, file_error = _file_entries(panel, {s.name for s in sources})
    return panel.render(
        request,
        "sources.html",
        status_code=status_code,
        sources=sources,
        waiting=waiting,
        file_error=file_error,
        sources_file=panel.services.settings.sources_file,
        kinds=manage.KINDS,
        hints=FIELD_HINTS,
        **{"values": {}, "error": "", "error_kind": "", "token": None, **extra},
    )


@requires("admin")
async def add_source(panel: Panel, request: Request) -> Response:
    form = await request.form()
    kind, name = form_str(form, "kind", 50), form_str(form, "name", 100)
    spec = manage.KINDS.get(kind)
    fields = (*spec.fields, "interval_minutes") if spec else ()
    config = {f: form_str(form, f"cfg_{f}", 2000) for f in fields if form_str(form, f"cfg_{f}")}
    try:
        manage.check_addresses(config)
        status = await manage.add_source(
            panel.services, kind, name, config, audit=_auditor(request, name)
        )
    except SourceInvalid as exc:
        # nothing was saved; the form comes back with what was typed (secrets left out)
        secret = set(spec.secret_fields) if spec else set()
        kept = {k: v for k, v in config.items() if k not in secret}
        return await _page(
            panel,
            request,
            status_code=400,
            error=f"Not added: {str(exc).rstrip('.')}.",
            error_kind=kind,
            values={"name": name, **kept},
        )
    if status.token:  # shown once, on this page only: never in a URL
        return await _page(panel, request, token=status.token, added=status.name)
    return panel.redirect(
        request, "/sources", f"Added {status.name}: {status.items_total} items fetched."
    )


@requires("admin")
async def change_source(panel: Panel, request: Request) -> Response:
    name, action = request.path_params["name"][:100], request.path_params["action"]
    current = await manage.get_source(panel.services.db, name)
    if current is None or action not in ("pause", "resume", "remove", "run"):
        return panel.render(request, "error.html", status_code=404, message="No such source.")
    if action == "remove" and current.managed_by == "file":
        return panel.redirect(
            request,
            "/sources",
            f"{name} comes from {panel.services.settings.sources_file}: remove it there.",
        )
    if action == "run":
        report = await manage.run_source_now(panel.services, name)
        await _record_run(panel, request, name, report)
        flash = (
            f"{name}: {report.fetched} fetched, {report.changed} new or changed."
            if report.ok
            else f"{name} failed: {report.error}"
        )
        return panel.redirect(request, "/sources", flash)
    auditor = _auditor(request, name)
    if action == "remove":
        await manage.remove_source(panel.services.db, name, audit=auditor)
        return panel.redirect(request, "/sources", f"Removed {name}; its items stay.")
    await manage.set_enabled(panel.services.db, name, action == "resume", audit=auditor)
    flash = f"Paused {name}." if action == "pause" else f"Resumed {name}: it runs at the next tick."
    return panel.redirect(request, "/sources", flash)


async def _record_run(panel: Panel, request: Request, name: str, report: Any) -> None:
    await audit.record_alone(
        panel.services.db, "run_source", request.state.staff.username, f"source:{name}",
        audit.fields(report, "ok", "fetched", "changed"),
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/sources", partial(list_sources, panel), methods=["GET"]),
        Route("/sources", partial(add_source, panel), methods=["POST"]),
        Route("/sources/{name:str}/{action:str}", partial(change_source, panel), methods=["POST"]),
    ]
