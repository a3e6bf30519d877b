"""Crash recovery with 100 poison messages in the inbox, on the production shape: real `web`
and `worker` processes on PostgreSQL and Redis. The web process is killed (SIGKILL) right after
acknowledging a burst of Telegram updates; every acknowledged message must be answered exactly
once, however many messages in the inbox keep failing.

PostgreSQL only: it is the database several processes share (SQLite is the one-process default).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.conversation.services import Services
from domain.messages import InboundMessage
from domain.models import InboxMessage, utcnow
from tests.conftest import BACKEND
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.processes import ProductProcess, RedisServer, product_env
from tests.faults.test_faults import post_update, telegram_update
from tests.hostile.conftest import fail_inserts

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        BACKEND != "postgres",
        reason="real web and worker processes share PostgreSQL; it runs in the PostgreSQL run",
    ),
]
POISON, REAL = 100, 30


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


async def add_poison(services: Services) -> None:
    """100 rows due before everything else: half unreadable, half failing at every attempt
    (a trigger refuses their residents, so neither the turn nor its apology can be written)."""
    await fail_inserts(services.db, "residents", "chat_id", "poison")
    old = utcnow() - timedelta(minutes=5)
    async with services.db.session() as session:
        for n in range(POISON):
            payload = (
                {"broken": True}
                if n % 2
                else InboundMessage("telegram", f"poison-{n}", f"poison:{n}", "x").to_payload()
            )
            session.add(
                InboxMessage(
                    channel="telegram",
                    platform_id=f"poison:{n}",
                    payload=payload,
                    received_at=old,
                    next_attempt_at=old,
                    attempts=1,
                )
            )


def replies(fake: FakeTelegram) -> Counter[str]:
    with fake._lock:
        return Counter(str(m["chat_id"]) for m in fake.sent)


async def test_every_acknowledged_message_is_answered_once_despite_100_poison_rows(
    services: Services,
    db_url: str,
    redis_server: RedisServer,
    fake: FakeTelegram,
    tmp_path: Path,
) -> None:
    await add_poison(services)
    env = product_env(
        db_url,
        redis_server.url,
        fake,
        RUMOURBOT_INBOX_RECOVERY_SECONDS="1",
        RUMOURBOT_INBOX_RETRY_SECONDS="3",
        RUMOURBOT_INBOX_MAX_ATTEMPTS="3",
    )
    web = ProductProcess("web", env, tmp_path / "web.log")
    worker = ProductProcess("worker", env, tmp_path / "worker.log")
    try:
        await asyncio.gather(web.start(), worker.start())
        chats = [str(800_000 + n) for n in range(REAL)]
        async with httpx.AsyncClient(timeout=10) as client:
            codes = await asyncio.gather(
                *(
                    post_update(client, web, telegram_update(920_000 + n, int(chat), "/help"))
                    for n, chat in enumerate(chats)
                )
            )
        web.kill()  # at once: turns still under way die with it
        acknowledged = [chat for chat, code in zip(chats, codes, strict=True) if code == 200]
        assert len(acknowledged) == REAL
        async with services.db.session() as session:
            unfinished = await session.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(
                    InboxMessage.processed_at.is_(None),
                    InboxMessage.platform_id.not_like("poison%"),
                )
            )
        deadline = time.monotonic() + 90
        while set(replies(fake)) < set(acknowledged):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{unfinished} unfinished at the kill; missing "
                    f"{set(acknowledged) - set(replies(fake))}\n{worker.log_tail()}"
                )
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything sent twice would show by now
    finally:
        web.stop()
        worker.stop()
        from tests.hostile.conftest import drop_fault

        await drop_fault(services.db, "residents")
    received = replies(fake)
    assert [chat for chat in acknowledged if received[chat] != 1] == []
    assert not any(chat.startswith("poison") for chat in received)
    async with services.db.session() as session:
        dead = await session.scalar(
            select(func.count()).select_from(InboxMessage).where(InboxMessage.dead_at.is_not(None))
        )
    assert dead is not None and dead >= POISON // 2  # the unreadable ones at least, given up
    print(f"messages unfinished when the web process was killed: {unfinished}")
