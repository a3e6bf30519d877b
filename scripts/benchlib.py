"""What the benchmark scripts share: a throw-away PostgreSQL database, the machine's load
(recorded beside every figure, since the machine may be busy) and a process's CPU time.

The scripts put the repository on `sys.path` before importing this (it imports `domain`)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections import Counter

from sqlalchemy import text

from bot.conversation.services import Services
from domain.db import Database

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def _autocommit(statement: str) -> None:
    admin = Database(PG_ADMIN)
    try:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


async def create_database(prefix: str = "rumourbot_bench", migrate: bool = True) -> tuple[str, str]:
    """A new database named `prefix`_<random> (migrated to head unless `migrate` is false):
    its name and URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _autocommit(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    if migrate:
        db = Database(url)
        await db.migrate()
        await db.dispose()
    return name, url


async def drop_database(name: str) -> None:
    await _autocommit(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rates_per_window(times: list[float], window: float = 10.0) -> list[float]:
    """Events per second in each full `window` seconds from the first of `times` (sorted)."""
    if len(times) < 2:
        return []
    start, end = times[0], times[-1]
    counts = Counter(int((t - start) // window) for t in times)
    full = int((end - start) // window)  # the last, partial window is left out
    return [counts.get(n, 0) / window for n in range(full)]


def uptime() -> str:
    """`uptime`'s line (the load averages), recorded beside the figures."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False,  # noqa: S607
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


async def close_with_outbox_statuses(services: Services) -> dict[str, int]:
    """The outbox's rows by status, read last; then the services' connections are closed."""
    async with services.db.session() as session:
        statuses: dict[str, int] = dict(
            (await session.execute(
                text("SELECT status, count(*) FROM outbox GROUP BY status"))).all()
        )
    await services.db.dispose()
    if services.redis is not None:
        await services.redis.aclose()
    return statuses
