"""The `rumourbot` command. Sub-commands of other packages register through `register(app)`."""

from __future__ import annotations

import asyncio
import json
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.settings import get_settings

app = typer.Typer(
    help="Answer forwarded rumours with verified facts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
PLUGIN_CLI_MODULES = ("admin.cli", "factcheck_connectors.cli", "nlu.cli")


def _serve(role: str, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from bot.runtime.app import Role, Runtime
    from bot.runtime.logs import configure, secrets_of

    settings = get_settings()
    configure(settings.log_level, settings.log_format, secrets_of(settings))
    runtime = Runtime(settings, role=Role(role))
    if runtime.receives:
        typer.echo(f"Web chat:  {settings.public_url}/chat")
        typer.echo(f"Panel:     {settings.public_url}/admin")
        typer.echo(f"Telegram:  {settings.telegram_effective_mode}")
    uvicorn.run(
        runtime.asgi(),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=False,
    )


@app.command()
def run() -> None:
    """Run the bot, the web chat and the panel in one process (the embedded default)."""
    _serve("all")


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
def migrate() -> None:
    """Apply database migrations."""
    from domain.db import Database

    async def go() -> None:
        db = Database(get_settings().database_url)
        await db.migrate()
        await db.dispose()

    asyncio.run(go())
    typer.echo("database is up to date")


@app.command()
def check(text: Annotated[str, typer.Argument(help="The message to check")]) -> None:
    """Print the decision and the top candidates for TEXT as JSON."""
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
_register_plugins(app)
