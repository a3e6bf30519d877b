"""What the benchmark scripts share: a throw-away PostgreSQL database, the machine's load
(recorded beside every figure, since the machine may be busy), a process's CPU time, Ctrl-C
turned into a clean-up, and for the two broadcast benchmarks their rig (database, Redis, worker
processes, one update queued) and what they measure of what the fake platform received.

Importing it is a benchmark's entry point, as `examples/_local.py` is the examples': it puts the
repository on `sys.path` and calls `configure_process()` (what the `rumourbot` command does)
before anything of ours or a library's is imported. So a script imports it before those."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does, before the imports below

from sqlalchemy import insert, text  # noqa: E402

from bot.conversation.publishing import broadcast  # noqa: E402
from bot.conversation.services import Services  # noqa: E402
from bot.runtime.wiring import LazyParser, build_services, parser_from  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.models import Resident, utcnow  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.faults.processes import ProductProcess, RedisServer  # noqa: E402

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


def cancel_on_signals() -> None:
    """On SIGINT or SIGTERM, cancel the task running this, so that its `finally` cleans up
    (processes, databases, test hosts) as on any other way out."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def interrupted(sig: signal.Signals) -> None:
        print(f"got {sig.name}", flush=True)
        if task is not None:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted, sig)


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


# -- broadcasts: one update to many subscribers, through real worker processes ---------------


UPDATE = {"en": "The clinic on Market Street opens at 8 every day."}


class Stoppable(Protocol):
    def stop(self) -> None: ...


def subscriber_rows(channel: str, first_chat_id: int, count: int,
                    **columns: Any) -> list[dict[str, Any]]:
    """`count` English residents of `channel` following "health", chat ids from
    `first_chat_id` on (`Resident` columns, `columns` added to each)."""
    now = utcnow()
    return [
        {"channel": channel, "chat_id": str(first_chat_id + n), "language": "en",
         "topics": ["health"], "opted_out": False, "blocked": False, "created_at": now,
         **columns}
        for n in range(count)
    ]


async def add_subscribers(db: Database, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert residents (`rows` of `Resident` columns), 2,000 a statement: their chat ids."""
    async with db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Resident), list(rows[start:start + 2000]))
    return [str(row["chat_id"]) for row in rows]


@dataclass
class BroadcastRig:
    """A fresh PostgreSQL database, a private Redis, the services a broadcast is queued
    through, and the worker processes that send it."""

    workdir: Path
    redis: RedisServer
    url: str
    services: Services
    workers: list[ProductProcess] = field(default_factory=list)

    async def start_workers(self, env: dict[str, str], count: int) -> None:
        """`count` `rumourbot worker` processes with `env`, each answering /healthz."""
        self.workers = [ProductProcess("worker", env, self.workdir / f"worker-{n}.log")
                        for n in range(count)]
        await asyncio.gather(*(worker.start() for worker in self.workers))

    async def broadcast(self, name: str) -> tuple[int, float]:
        """Queue `UPDATE` to the "health" subscribers: messages queued, and the seconds that
        took."""
        queued_at = time.perf_counter()
        queued = await broadcast(self.services, name, "health", UPDATE)
        seconds = time.perf_counter() - queued_at
        print(f"queued {queued} messages in {seconds:.1f} s; sending...", flush=True)
        return queued, seconds


@asynccontextmanager
async def broadcast_rig(fake: Stoppable, workdir_prefix: str,
                        db_prefix: str) -> AsyncIterator[BroadcastRig]:
    """The rig, for a broadcast through `fake` (already started); on the way out the workers,
    Redis and `fake` are stopped and the database dropped."""
    workdir = Path(tempfile.mkdtemp(prefix=workdir_prefix))
    redis = RedisServer(workdir).start()
    name, url = await create_database(db_prefix)
    rig: BroadcastRig | None = None
    try:
        settings = Settings(_env_file=None, database_url=url, redis_url=redis.url,  # type: ignore[call-arg]
                            embedder="hashing", demo_data=False)
        services = build_services(settings, parser=LazyParser(lambda: parser_from(settings)))
        rig = BroadcastRig(workdir, redis, url, services)
        yield rig
    finally:
        for worker in rig.workers if rig is not None else []:
            worker.stop()
        redis.stop()
        fake.stop()
        await drop_database(name)


async def wait_until_delivered(delivered: Callable[[], int], total: int, *, every: float,
                               at_most: float, stalled_after: float = math.inf) -> None:
    """Poll `delivered()` every `every` seconds, printing it, until it reaches `total`, or
    `at_most` seconds have passed, or it has not moved for `stalled_after` seconds."""
    now = time.monotonic()
    deadline, progress_at, last = now + at_most, now, -1
    while time.monotonic() < deadline and time.monotonic() - progress_at < stalled_after:
        done = delivered()
        if done >= total:
            return
        if done != last:
            progress_at, last = time.monotonic(), done
        print(f"  {done} delivered", flush=True)
        await asyncio.sleep(every)


def delivery_figures(recipients: Sequence[str], accepted: Sequence[tuple[str, float]],
                     limit: float) -> dict[str, Any]:
    """What the platform saw of a broadcast: `accepted` holds (recipient, time) per message it
    took. Delivered, missing and duplicate recipients, and the rate against `limit`."""
    times = sorted(at for _, at in accepted)
    per_recipient = Counter(to for to, _ in accepted)
    sustained = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    windows = rates_per_window(times)
    return {
        "delivered": len(per_recipient),
        "missing": len(set(recipients) - set(per_recipient)),
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        "send_seconds": round(times[-1] - times[0], 1) if times else 0,
        "sustained_per_second": round(sustained, 2),
        "of_limit_percent": round(100 * sustained / limit, 2),
        "per_10s_window": {
            "min": round(min(windows), 1) if windows else None,
            "median": round(statistics.median(windows), 1) if windows else None,
            "max": round(max(windows), 1) if windows else None,
        },
        "per_10s_windows": [round(w, 1) for w in windows],
        "longest_gaps": longest_gaps(times),
    }


def longest_gaps(times: Sequence[float], count: int = 5) -> list[dict[str, float]]:
    """The `count` longest pauses between two messages the platform took (sorted `times`):
    where a broadcast lost its slots, as seconds from the first message."""
    gaps = sorted(((b - a, a - times[0]) for a, b in itertools.pairwise(times)), reverse=True)
    return [{"at_s": round(at, 2), "seconds": round(gap, 3)} for gap, at in gaps[:count]]


def machine_figures(load_start: float) -> dict[str, Any]:
    """The machine and its load, recorded beside every figure."""
    return {
        "machine": f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} CPUs",
        "load_average_1m": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "uptime": uptime(),
    }


def windows_line(result: dict[str, Any]) -> str:
    windows = result["per_10s_window"]
    return f"10-s windows min/median/max {windows['min']}/{windows['median']}/{windows['max']}"


def busy_mark(result: dict[str, Any]) -> str:
    return "  (busy machine)" if result["load_average_1m"]["end"] > (os.cpu_count() or 1) else ""


def write_figures(out: Path, result: dict[str, Any], lines: list[str]) -> None:
    """`out` (JSON) and the same name in .md (the lines), and the lines on stdout."""
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
