"""`rumourbot parse TEXT`: how the configured parser reads a message (for people tuning data)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer

from nlu.factory import build_parser
from nlu.rasa_client import RasaParser
from nlu.types import ParseResult


async def _parse(text: str, rasa_url: str | None, token: str | None) -> ParseResult:
    parser = build_parser(rasa_url, token, timeout=5.0)
    try:
        return await parser.parse(text)
    finally:
        if isinstance(parser, RasaParser):
            await parser.aclose()


def parse(
    text: Annotated[str, typer.Argument(help="A message as a resident would send it")],
    rasa_url: Annotated[str | None, typer.Option(envvar="RUMOURBOT_RASA_URL")] = None,
    token: Annotated[str | None, typer.Option(envvar="RUMOURBOT_RASA_TOKEN")] = None,
) -> None:
    """Print the intent, confidence, entities and language found for TEXT."""
    result = asyncio.run(_parse(text, rasa_url, token))
    typer.echo(json.dumps(asdict(result), ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)
