"""Faults, each against the production shape: `rumourbot web` and `rumourbot worker` as real
processes sharing one database and one Redis, the fake Telegram Bot API enforcing its limits.

Each test asserts what residents see: every message arrives, and arrives once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from bot.conversation.publishing import broadcast
from bot.conversation.services import Services
from domain.db import Database
from domain.models import OutboxMessage, OutboxStatus
from domain.residents import resident_for
from tests.conftest import PG_ADMIN_URL
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.processes import WEBHOOK_SECRET, ProductProcess, RedisServer, product_env

pytestmark = pytest.mark.redis


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    server.enforce_limits(per_second=30, burst=10, per_chat_per_second=1, per_chat_burst=3)
    yield server
    server.stop()


class Cluster:
    """Starts product processes for one test and stops whatever is left at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[ProductProcess] = []

    async def start(self, role: str) -> ProductProcess:
        process = ProductProcess(role, self.env, self.logs / f"{role}-{len(self.processes)}.log")
        self.processes.append(process)
        return await process.start()

    async def start_all(self, *roles: str) -> list[ProductProcess]:
        return list(await asyncio.gather(*(self.start(role) for role in roles)))

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs_text(self) -> str:
        return "\n".join(f"--- {p.role} {p.log_path.name}\n{p.log_tail()}" for p in self.processes)


@pytest.fixture
async def cluster(
    db_url: str, redis_server: RedisServer, fake: FakeTelegram, tmp_path: Path
) -> AsyncIterator[Cluster]:
    group = Cluster(product_env(db_url, redis_server.url, fake), tmp_path)
    yield group
    group.stop()


async def subscribe(services: Services, count: int, topic: str = "health") -> list[str]:
    chats = [str(500_000 + n) for n in range(count)]
    async with services.db.session() as session:
        for chat in chats:
            resident = await resident_for(session, "telegram", chat)
            resident.topics, resident.language = [topic], "en"
    return chats


async def publish_update(services: Services, key: str = "water-update") -> int:
    return await broadcast(services, key, "health", {"en": "Tap water is safe to drink."})


def per_chat(fake: FakeTelegram) -> Counter[str]:
    with fake._lock:
        return Counter(str(m["chat_id"]) for m in fake.sent)


async def wait_until(condition: Any, timeout: float, cluster: Cluster) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; process logs:\n{cluster.logs_text()}")
        await asyncio.sleep(0.1)


async def outbox_statuses(services: Services) -> Counter[str]:
    async with services.db.session() as session:
        return Counter((await session.scalars(select(OutboxMessage.status))).all())


def telegram_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A private-chat text message, shaped like the Bot API's `Update`."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Amina", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "from": user,
            "chat": {"id": chat_id, "type": "private", "first_name": "Amina"},
            "date": int(time.time()),
            "text": text,
        },
    }


async def post_update(
    client: httpx.AsyncClient, web: ProductProcess, update: dict[str, Any]
) -> int:
    response = await client.post(
        f"{web.url}/telegram/webhook",
        content=json.dumps(update),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        },
    )
    return response.status_code


async def test_a_worker_killed_mid_broadcast_is_taken_over_and_everyone_gets_exactly_one(
    services: Services, cluster: Cluster, fake: FakeTelegram
) -> None:
    chats = await subscribe(services, 120)
    first = await cluster.start("worker")
    killed = threading.Event()

    def kill_halfway(_record: dict[str, Any]) -> None:
        # The worst moment: the platform has message 60 but the worker never hears back.
        if len(fake.sent) == len(chats) // 2 and not killed.is_set():
            first.kill()
            killed.set()

    fake.on_send = kill_halfway
    assert await publish_update(services) == len(chats)
    await wait_until(killed.is_set, 30, cluster)
    second = await cluster.start("worker")
    await wait_until(lambda: len(per_chat(fake)) == len(chats), 60, cluster)
    await asyncio.sleep(1.0)  # anything sent twice would arrive now

    received = per_chat(fake)
    assert set(received) == set(chats)
    assert [chat for chat, n in received.items() if n != 1] == []
    assert fake.too_many == []  # the second worker kept to the shared 30/s
    statuses = await outbox_statuses(services)
    # what the platform took as the worker died is "in doubt" (listed for staff), not resent
    assert statuses[OutboxStatus.IN_DOUBT] >= 1
    assert statuses[OutboxStatus.SENT] + statuses[OutboxStatus.IN_DOUBT] == len(chats)
    async with httpx.AsyncClient(timeout=10) as client:  # what an operator's alert would see
        metrics = (await client.get(f"{second.url}/metrics")).text
    in_doubt = statuses[OutboxStatus.IN_DOUBT]
    assert f'rumourbot_outbox_needing_attention{{status="in_doubt"}} {in_doubt}.0' in metrics


async def test_redis_restarting_mid_run_loses_and_repeats_nothing(
    services: Services, cluster: Cluster, fake: FakeTelegram, redis_server: RedisServer
) -> None:
    chats = await subscribe(services, 90)
    worker, web = await cluster.start_all("worker", "web")
    halfway = threading.Event()
    fake.on_send = lambda _r: halfway.set() if len(fake.sent) >= 30 else None
    assert await publish_update(services) == len(chats)
    await wait_until(halfway.is_set, 30, cluster)

    redis_server.stop()
    async with httpx.AsyncClient(timeout=10) as client:
        # while Redis is away the web process still accepts and answers residents
        assert await post_update(client, web, telegram_update(900_001, 700_001, "/start")) == 200
        assert (await client.get(f"{worker.url}/readyz")).status_code == 503
        await asyncio.sleep(1.5)
        redis_server.start()
        await wait_until(lambda: len(per_chat(fake)) == len(chats) + 1, 60, cluster)
        assert await post_update(client, web, telegram_update(900_002, 700_002, "/start")) == 200
        await wait_until(lambda: "700002" in per_chat(fake), 30, cluster)
        assert (await client.get(f"{worker.url}/readyz")).status_code == 200
    await asyncio.sleep(1.0)

    received = per_chat(fake)
    assert set(chats) | {"700001", "700002"} == set(received)
    assert [chat for chat, n in received.items() if n != 1] == []


async def test_a_duplicate_update_delivered_five_times_is_answered_once(
    services: Services, cluster: Cluster, fake: FakeTelegram
) -> None:
    *webs, _worker = await cluster.start_all("web", "web", "worker")
    update = telegram_update(910_000, 710_000, "/help")
    async with httpx.AsyncClient(timeout=10) as client:
        statuses = await asyncio.gather(
            *(post_update(client, webs[n % 2], update) for n in range(5))
        )
    assert statuses == [200] * 5  # a redelivery is acknowledged, so the platform stops
    await wait_until(lambda: "710000" in per_chat(fake), 30, cluster)
    await asyncio.sleep(1.5)
    assert per_chat(fake)["710000"] == 1


async def test_a_platform_answering_429_and_5xx_at_random_still_gets_everything_once(
    services: Services, cluster: Cluster, fake: FakeTelegram
) -> None:
    chats = await subscribe(services, 40)
    fake.fail_randomly("sendMessage", rate=0.3, seed=7)
    await cluster.start("worker")
    assert await publish_update(services) == len(chats)
    await wait_until(lambda: len(per_chat(fake)) == len(chats), 90, cluster)
    await asyncio.sleep(1.0)

    received = per_chat(fake)
    assert [chat for chat, n in received.items() if n != 1] == []
    assert fake.random_failures >= 5  # the platform really did misbehave
    assert await outbox_statuses(services) == {OutboxStatus.SENT: len(chats)}


@pytest.fixture
async def pg_behind_proxy() -> AsyncIterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL database reached through a proxy the test can cut."""
    name = f"rumourbot_fault_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_ADMIN_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    proxy = TcpProxy("127.0.0.1", 5432).start()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
    migrated = Database(url)
    await migrated.migrate()
    await migrated.dispose()
    yield url, proxy
    proxy.stop()
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.mark.postgres
async def test_postgres_unreachable_webhooks_answer_503_and_nothing_is_lost(
    pg_behind_proxy: tuple[str, TcpProxy],
    redis_server: RedisServer,
    fake: FakeTelegram,
    tmp_path: Path,
) -> None:
    url, proxy = pg_behind_proxy
    group = Cluster(product_env(url, redis_server.url, fake), tmp_path)
    try:
        web, worker = await group.start_all("web", "worker")
        await wait_until(lambda: fake.webhook is not None, 30, group)
        fake.push_update(telegram_update(920_001, 720_001, "/help"))
        await wait_until(lambda: "720001" in per_chat(fake), 30, group)

        proxy.cut()  # the database is gone: connections reset, new ones refused
        for n in (2, 3):
            fake.push_update(telegram_update(920_000 + n, 720_000 + n, "/help"))
        # Telegram sends one update at a time and retries it: the second waits behind the first
        await wait_until(lambda: (920_002, 503) in fake.webhook_responses, 30, group)
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(f"{web.url}/readyz")).status_code == 503
            assert (await client.get(f"{worker.url}/readyz")).status_code == 503
        await asyncio.sleep(2.0)  # Telegram keeps retrying meanwhile
        proxy.restore()

        await wait_until(lambda: {"720002", "720003"} <= set(per_chat(fake)), 60, group)
        await asyncio.sleep(1.0)
        assert dict(per_chat(fake)) == {"720001": 1, "720002": 1, "720003": 1}
        responses = fake.webhook_responses
        assert (920_002, 503) in responses and (920_002, 200) in responses  # refused, then taken
    finally:
        group.stop()
