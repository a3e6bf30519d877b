"""A broadcast's claims stay cheap: the check "an earlier message to this resident waits" must
not walk every queued row for each queued row (on PostgreSQL, planned on the statistics of the
outbox before the broadcast, each claim of a 4,000-resident broadcast took half a second, and
the cost grew with the square of its size)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert

from bot.conversation.publishing import broadcast
from bot.conversation.services import Services
from domain.models import Resident, utcnow
from domain.outbox import claim_parameters, claim_statement

SUBSCRIBERS = 1500


async def _subscribe(services: Services) -> None:
    now = utcnow()
    rows = [
        {"channel": "whatsapp", "chat_id": str(254_700_000_000 + n), "language": "en",
         "topics": ["health"], "opted_out": False, "blocked": False, "created_at": now}
        for n in range(SUBSCRIBERS)
    ]
    async with services.db.session() as session:
        await session.execute(insert(Resident), rows)


async def _explain_claim(services: Services) -> list[Any]:
    """The database's plan of one claim of 50 as a worker sends it (EXPLAIN ANALYZE with
    buffers on PostgreSQL, rolled back; EXPLAIN QUERY PLAN on SQLite). The claim's shape
    without a channel list: a list is expanded when the statement is compiled, and the check
    is the same."""
    async with services.db.engine.connect() as conn:
        postgresql = conn.dialect.name == "postgresql"
        compiled = claim_statement(by_channel=False, skip_locked=postgresql).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        values = compiled.construct_params(claim_parameters(50, utcnow(), None, "worker-1"))
        args = tuple(values[name] for name in compiled.positiontup or ())
        prefix = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " if postgresql else (
            "EXPLAIN QUERY PLAN ")
        async with conn.begin() as transaction:
            rows = (await conn.exec_driver_sql(prefix + str(compiled), args)).all()
            await transaction.rollback()
    return [list(row) for row in rows]


async def test_a_broadcast_is_claimed_without_reading_the_queue_once_per_message(
    services: Services,
) -> None:
    await _subscribe(services)
    queued = await broadcast(services, "clinic-hours", "health",
                             {"en": "The clinic on Market Street opens at 8 every day."})
    assert queued == SUBSCRIBERS
    plan = await _explain_claim(services)
    if services.db.engine.dialect.name == "postgresql":
        top = plan[0][0][0]["Plan"]
        blocks = top["Shared Hit Blocks"] + top["Shared Read Blocks"]
        # one pass over the queue: tens of blocks (the walk per message read about 8 per row)
        assert blocks < SUBSCRIBERS, json.dumps(top)[:2000]
    else:  # SQLite looks the resident's earlier messages up by index
        assert any("SEARCH ahead USING INDEX" in str(row[-1]) for row in plan), plan
