"""`rumourbot attach-media`: staff give a knowledge item the image it debunks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from bot.media.errors import MediaError
from domain.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("attach-media")
    def attach_media(
        item: Annotated[int, typer.Argument(help="Knowledge item id")],
        file: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                           help="Image, voice note or video")],
    ) -> None:
        """Answer copies of FILE (by its hashes) with knowledge item ITEM."""
        from bot.runtime.media_operations import attach_media as attach

        try:
            result = asyncio.run(attach(get_settings(), item, file))
        except MediaError as exc:
            typer.echo(f"cannot read {file}: {exc.reply_key}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        if "error" in result:
            raise typer.Exit(2)
