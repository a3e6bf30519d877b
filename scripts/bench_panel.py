"""Panel proof: the dashboard, the council report and the queue with 100,000 requests.

Seeds `--requests` requests from residents across `--clusters` clusters (a tenth of them
answered) over the last 30 days, in a fresh SQLite file or a fresh PostgreSQL database, then
renders /admin/dashboard, /admin/report (this month so far and the last 30 days) and /admin/
through the real app (login, session, templates) and reports the median and worst of `--runs`
renders, with the load average before and after (the machine may be shared: say so).
Writes bench/panel.json.

    .venv/bin/python scripts/bench_panel.py                      # SQLite, 100,000 requests
    .venv/bin/python scripts/bench_panel.py --backend postgres
    .venv/bin/python scripts/bench_panel.py --keep /tmp/panel.db # seed once, measure again
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from starlette.applications import Starlette

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchlib import create_database, drop_database  # noqa: E402 - beside this script

from admin.auth import create_user  # noqa: E402
from bot.runtime.app import Runtime  # noqa: E402
from bot.runtime.wiring import build_services  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.models import Cluster, Request, Resident, utcnow  # noqa: E402
from domain.settings import Settings  # noqa: E402

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway account in a temporary database
LANGS = ["en", "sw", "hi", "ar", "es", "id"]


async def seed(db: Database, requests: int, clusters: int, residents: int) -> None:
    rng = random.Random(7)  # noqa: S311 - benchmark data, not secrets
    now = utcnow()
    async with db.session() as session:
        await session.execute(
            insert(Resident),
            [
                {"channel": rng.choice(["telegram", "whatsapp", "webchat"]),
                 "chat_id": f"b{i}", "language": rng.choice(LANGS), "topics": []}
                for i in range(residents)
            ],
        )
        await session.execute(
            insert(Cluster),
            [
                {"representative_text": f"Rumour number {i} about the market and the water",
                 "status": "answered" if i % 10 == 0 else "new", "ask_count": 0,
                 "topic": rng.choice(["water", "health", "security", None]),
                 "first_seen_at": now - timedelta(days=30), "last_seen_at": now}
                for i in range(clusters)
            ],
        )
    batch = 10_000
    for start in range(0, requests, batch):
        rows: list[dict[str, Any]] = []
        for _ in range(min(batch, requests - start)):
            when = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            cluster = rng.randint(1, clusters) if rng.random() < 0.7 else None
            rows.append(
                {"resident_id": rng.randint(1, residents), "channel": "telegram",
                 "text": "a forwarded rumour", "language": rng.choice(LANGS),
                 "outcome": "queue" if cluster else "answer", "cluster_id": cluster,
                 "received_at": when, "media": [], "candidates": [], "forwarded": True,
                 "answered_at": when if cluster is None or cluster % 10 == 1 else None}
            )
        async with db.session() as session:
            await session.execute(insert(Request), rows)


def server_cpu_ms(database: str) -> float:
    """CPU used so far by the PostgreSQL backends of `database` and by parallel workers (from
    /proc: the server's share of a page, which the client's clock cannot see); 0 elsewhere."""
    if not database:
        return 0.0
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            if "postgres:" not in cmdline or (
                f" {database} " not in cmdline and "parallel worker" not in cmdline
            ):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        except (OSError, IndexError, ValueError):
            continue
    return total * 1000 / os.sysconf("SC_CLK_TCK")


async def measure(url: str, runs: int, database: str = "") -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url, demo_data=False,  # type: ignore[call-arg]
                        embedder="hashing", index_refresh_seconds=60)
    runtime = Runtime(settings, services=build_services(settings))
    figures: dict[str, Any] = {}
    async with runtime.running():
        try:
            async with runtime.services.db.session() as session:
                await create_user(session, "bench", PASSWORD, "viewer")
        except ValueError:
            pass  # a kept database has the account already
        transport = httpx.ASGITransport(app=Starlette(routes=runtime.routes()))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/admin/login")
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            await client.post("/admin/login", data={"username": "bench", "password": PASSWORD,
                                                    "csrf_token": token})
            start = (date.today() - timedelta(days=29)).isoformat()
            end = date.today().isoformat()
            paths = ("/admin/dashboard", "/admin/report", f"/admin/report?start={start}&end={end}",
                     "/admin/")
            for path in paths:
                await client.get(path)  # warm: templates compiled, connection open
                times, cpu = [], []
                for _ in range(runs):
                    server = server_cpu_ms(database)
                    started, cpu_started = time.perf_counter(), time.process_time()
                    response = await client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000
                               + server_cpu_ms(database) - server)
                    assert response.status_code == 200, response.status_code
                name = "/admin/report (last 30 days)" if "start=" in path else path
                figures[name] = {"median_ms": round(statistics.median(times), 1),
                                 "worst_ms": round(max(times), 1), "runs": runs,
                                 # CPU of this process (SQLite's work included) plus the
                                 # PostgreSQL backends': what a page costs on an idle machine
                                 "cpu_median_ms": round(statistics.median(cpu), 1)}
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=2_000)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", help="SQLite only: this file, seeded if it does not exist")
    args = parser.parse_args()
    name = ""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = True
        if args.backend == "sqlite":
            path = args.keep or f"{tmp}/bench.db"
            fresh = not os.path.exists(path)  # noqa: ASYNC240 - once, before the event loop is busy
            url = f"sqlite+aiosqlite:///{path}"
        else:
            name, url = await create_database(migrate=False)
        db = Database(url)
        await db.migrate()
        if fresh:
            await seed(db, args.requests, args.clusters, args.residents)
            if args.backend == "postgres":  # as autovacuum leaves a table a month old
                async with db.engine.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(text("VACUUM ANALYZE"))
        await db.dispose()
        load_seeded = os.getloadavg()
        try:
            figures = await measure(url, args.runs, name)
        finally:
            if name:
                await drop_database(name)
    result = {"backend": args.backend, "requests": args.requests, "clusters": args.clusters,
              "residents": args.residents, "cpus": os.cpu_count(),
              "load_average": {"before_seeding": [round(x, 2) for x in load_before],
                               "before_measuring": [round(x, 2) for x in load_seeded],
                               "after": [round(x, 2) for x in os.getloadavg()]},
              "pages": figures}
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "panel.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing[args.backend] = result
    out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
