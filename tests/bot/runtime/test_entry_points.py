"""The Docker image's entry points run as processes with the image's environment (no Docker
engine on the build machine, see docs/deploy.md): `rumourbot web` (its CMD) and `rumourbot
worker --port 9100` (compose) on PostgreSQL and Redis, the compose health check's `/readyz`,
JSON logs only, and `rumourbot config check` as an operator runs it inside the container."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_pg_database
from tests.faults.processes import RUMOURBOT, ProductProcess, RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def empty_pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database: the processes migrate it as they start, as in compose."""
    async with new_pg_database("rumourbot_image") as url:
        yield url


def image_env(db_url: str, redis_url: str) -> dict[str, str]:
    """What the Dockerfile and docker-compose.yml set, nothing from the test's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUMOURBOT_")}
    env.update(
        RUMOURBOT_HOST="0.0.0.0",  # noqa: S104 - as in the image
        RUMOURBOT_LOG_FORMAT="json",
        RUMOURBOT_DATABASE_URL=db_url,
        RUMOURBOT_REDIS_URL=redis_url,
        RUMOURBOT_EMBEDDER="hashing",
        RUMOURBOT_SOURCES_FILE="/nonexistent/sources.toml",
    )
    return env


async def config_check(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        RUMOURBOT, "config", "check", "--web-processes", "2",
        env={**env, "RUMOURBOT_TELEGRAM_TOKEN": "123:polling-token-for-the-check"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_image_entry_points_as_processes(
    empty_pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = image_env(empty_pg_url, redis_server.url)
    web = ProductProcess("web", env, tmp_path / "web.log")
    worker = ProductProcess("worker", env, tmp_path / "worker.log")
    try:
        _, _, (code, report) = await asyncio.gather(web.start(), worker.start(), config_check(env))
        async with httpx.AsyncClient(timeout=10) as http:
            for process in (web, worker):
                ready = await http.get(f"{process.url}/readyz")
                assert ready.status_code == 200
                assert ready.json() == {"database": "ok", "redis": "ok"}
            first = await http.get(f"{web.url}/")
            assert first.status_code == 200 and "Create an account for the panel" in first.text
            assert (await http.get(f"{worker.url}/chat")).status_code == 404
            assert "rumourbot_outbox_depth" in (await http.get(f"{worker.url}/metrics")).text
    finally:
        web.stop()
        worker.stop()
    logs = {}
    for process in (web, worker):
        lines = [line for line in process.log_path.read_text().splitlines() if line.strip()]
        logs[process.role] = [json.loads(line) for line in lines]  # each line: one JSON object
    for records in logs.values():
        assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert any("Start at:" in r["message"] for r in logs["web"])
    assert code == 1 and "telegram polling with 2 web processes" in report
    assert "polling-token" not in report
