"""A source change and its audit event commit together, or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.services import Services
from factcheck_connectors import manage


class Interrupted(Exception):
    """The audit write fails inside the transaction of the change."""


async def failing_audit(
    session: AsyncSession, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    raise Interrupted


async def test_a_failed_audit_leaves_the_source_as_it_was(services: Services) -> None:
    with pytest.raises(Interrupted):
        await manage.add_source(services, "push", "cms", {}, audit=failing_audit)
    assert await manage.list_sources(services.db) == []

    seen: list[tuple[Any, Any]] = []

    async def keep(session: AsyncSession, before: Any, after: Any) -> None:
        seen.append((before, after))

    status = await manage.add_source(services, "push", "cms", {"language": "sw"}, audit=keep)
    assert status.token and seen == [(None, {**seen[0][1]})]
    assert seen[0][1]["config"] == {"language": "sw", "token": "••••••"}  # the token masked
    with pytest.raises(Interrupted):
        await manage.set_enabled(services.db, "cms", False, audit=failing_audit)
    with pytest.raises(Interrupted):
        await manage.remove_source(services.db, "cms", audit=failing_audit)
    (kept,) = await manage.list_sources(services.db)
    assert kept.enabled
