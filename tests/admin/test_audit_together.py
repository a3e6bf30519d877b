"""Staff operations and their audit events commit together (or not at all); the CLI audits as
`cli:<os user>`."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import func, select

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.operations import publish_from_cli, unblock
from domain.models import Answer, AuditEvent, Cluster, OutboxMessage, Resident
from tests.admin.conftest import seed


class Interrupted(Exception):
    """Something fails after the publish, inside the same transaction."""


async def test_a_publish_rolled_back_with_its_transaction_notifies_nobody(
    runtime: Runtime,
) -> None:
    cluster_id = await seed(runtime, "The bridge on Mombasa road has collapsed", ["a1", "a2"])
    draft = AnswerDraft(verdict="false", explanation="The bridge stands; engineers checked it.")
    with pytest.raises(Interrupted):
        async with runtime.services.db.session() as session:
            result = await publish_answer(runtime.services, cluster_id, draft, session=session)
            assert result.notified == 2
            raise Interrupted
    async with runtime.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        cluster = await session.get(Cluster, cluster_id)
        assert cluster is not None and cluster.answer_id is None


async def test_cli_answer_and_unblock_are_audited_as_the_os_user(runtime: Runtime) -> None:
    cluster_id = await seed(runtime, "Schools close tomorrow because of a gas leak", ["c1"])
    result = await publish_from_cli(
        runtime.services.settings, cluster_id, "false", "Schools are open as usual.", None, "en"
    )
    assert result.notified == 1
    async with runtime.services.db.session() as session:
        resident = (await session.scalars(select(Resident))).one()
        resident.blocked, resident.blocked_reason = True, "flood"
        resident_id = resident.id
    assert await unblock(runtime.services.settings, resident_id)
    async with runtime.services.db.session() as session:
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    actor = f"cli:{getpass.getuser()}"
    assert [(e.name, e.actor, e.target) for e in events] == [
        ("publish", actor, f"cluster:{cluster_id}"),
        ("unblock", actor, f"resident:{resident_id}"),
    ]
    assert events[0].after is not None and events[0].after["notified"] == 1
    assert events[1].before == {"blocked": True}
