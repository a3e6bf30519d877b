"""`rumourbot sync [SOURCE]` and `rumourbot sources [add|remove|enable|disable]`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot.runtime.wiring import build_services, prepare
from domain.settings import get_settings
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.config import load_config_file
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.runner import Runner, SyncReport

T = TypeVar("T")
console = Console()
sources_app = typer.Typer(
    help="List and manage fact-check and statement sources.", invoke_without_command=True
)


def _with_services(work: Callable[[ConnectorServices], Awaitable[T]]) -> T:
    async def go() -> T:
        services = build_services(get_settings())
        try:
            await prepare(services)
            await load_config_file(services)
            return await work(services)
        finally:
            await services.db.dispose()

    try:
        return asyncio.run(go())
    except SourceInvalid as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _table(rows: list[manage.SourceStatus]) -> Table:
    table = Table(
        "name", "kind", "state", "items", "last run", "last success", "last error", "next run"
    )
    for s in rows:
        error = f"{_when(s.last_error_at)} {s.last_error}" if s.last_error else "-"
        table.add_row(
            s.name,
            s.kind,
            s.state,
            str(s.items_total),
            str(s.last_run_items),
            _when(s.last_success_at),
            error[:60],
            _when(s.next_run_at),
        )
    return table


def sync(
    source: Annotated[str | None, typer.Argument(help="One source; omit for all")] = None,
) -> None:
    """Fetch sources now (all enabled ones, or SOURCE), with a progress bar."""

    async def work(services: ConnectorServices) -> list[SyncReport]:
        names = (
            [source]
            if source
            else [
                s.name
                for s in await manage.list_sources(services.db)
                if s.enabled and s.state != "push"
            ]
        )
        runner = Runner(services)
        reports = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            for name in names:
                task = bar.add_task(name, total=None)

                def update(done: int, total: int, task: Any = task) -> None:
                    bar.update(task, completed=done, total=total or 1)

                report = await runner.run_source(name, progress=update)
                bar.update(
                    task,
                    completed=report.fetched or 1,
                    total=report.fetched or 1,
                    description=f"{name} {'ok' if report.ok else 'FAILED'}",
                )
                reports.append(report)
        return reports

    reports = _with_services(work)
    for r in reports:
        if r.ok:
            console.print(
                f"{r.source}: {r.fetched} fetched, {r.changed} new or changed, "
                f"{r.duplicates} duplicates, {r.retired} retired ({r.seconds:.1f}s)"
            )
        else:
            console.print(f"[red]{r.source}: failed after {r.attempts} attempt(s): {r.error}[/red]")
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


@sources_app.callback()
def sources(ctx: typer.Context) -> None:
    """List sources with their status (or use a sub-command)."""
    if ctx.invoked_subcommand is None:
        console.print(_table(_with_services(lambda s: manage.list_sources(s.db))))


@sources_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help=", ".join(sorted(manage.KINDS)))],
    name: Annotated[str, typer.Argument(help="A short unique name, e.g. city-press")],
    settings: Annotated[list[str] | None, typer.Argument(help="key=value ...")] = None,
) -> None:
    """Add a source: it is fetched once, and saved only if that works."""
    config = dict(pair.split("=", 1) for pair in (settings or []) if "=" in pair)
    status = _with_services(lambda s: manage.add_source(s, kind, name, config))
    console.print(f"added {status.name}: {status.items_total} items")
    if status.token:
        console.print(f"push token (shown once): {status.token}")


@sources_app.command("remove")
def remove(name: str) -> None:
    """Forget a source (its items stay)."""
    _with_services(lambda s: manage.remove_source(s.db, name))
    console.print(f"removed {name}")


@sources_app.command("enable")
def enable(name: str) -> None:
    _with_services(lambda s: manage.set_enabled(s.db, name, True))


@sources_app.command("disable")
def disable(name: str) -> None:
    _with_services(lambda s: manage.set_enabled(s.db, name, False))


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.add_typer(sources_app, name="sources")
