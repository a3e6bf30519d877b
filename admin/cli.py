"""`rumourbot createadmin`: the first account (and any later one) from the command line."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from domain.settings import get_settings


async def _create(username: str, password: str, role: str) -> None:
    from admin import audit
    from admin.auth import create_user
    from domain.db import Database

    db = Database(get_settings().database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            user = await create_user(session, username, password, role)
            await audit.record(
                session,
                "user_add",
                "cli",
                f"user:{user.username}",
                None,
                {"username": user.username, "role": user.role, "active": True},
            )
    finally:
        await db.dispose()


def createadmin(
    username: Annotated[str, typer.Argument(help="Login name")] = "admin",
    role: Annotated[str, typer.Option(help="admin, moderator or viewer")] = "admin",
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env", help="Read the password from this environment variable (for scripts)"
        ),
    ] = None,
) -> None:
    """Create a panel account (an admin by default); the password is asked for twice, hidden."""
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            typer.echo(f"environment variable {password_env} is empty or unset", err=True)
            raise typer.Exit(2)
    else:
        from admin.auth import MIN_PASSWORD

        typer.echo(
            f"Choose a password of at least {MIN_PASSWORD} characters (a few unrelated words "
            "are easy to remember); you will type it twice, and it is not shown."
        )
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(_create(username, password, role))
    except ValueError as exc:
        typer.echo(f"not created: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"created {role} {username.strip().lower()}; log in at {get_settings().public_url}/admin"
    )


def register(app: typer.Typer) -> None:
    app.command("createadmin")(createadmin)
