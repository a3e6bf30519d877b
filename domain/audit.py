"""Recording one audit event in the caller's transaction, so an action and its trace commit
(or fail) together. Shared by the panel and the CLI; the panel's audit page reads them back."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import AuditEvent, utcnow
from domain.text import clean


def jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


async def record(
    session: AsyncSession,
    name: str,
    actor: str,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One audit event, in the caller's transaction (action and trace commit together)."""
    session.add(
        AuditEvent(
            name=name[:50],
            actor=clean(actor)[:100],  # a failed login's username is whatever was typed
            created=utcnow(),
            target=clean(target)[:100] if target is not None else None,
            before=jsonable(before),
            after=jsonable(after),
        )
    )


def cli_actor() -> str:
    """`cli:<os user>`: who ran a command on the server."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return f"cli:{user}"
