"""Broadcast proof: one verified update to 10,000 Telegram subscribers, through the fake Bot API.

The production shape: a fresh PostgreSQL database, a private Redis, and `--workers` real
`rumourbot worker` processes sharing them; the fake Telegram server enforces Telegram's limits
(30 messages per second overall, as a token bucket with a burst of `--burst`, 10 by default:
a third of a second of jitter; 1 per second per chat)
and answers 429 with `retry_after` beyond them. Reports the sustained rate seen by the
platform, 429s, duplicates and missing subscribers; writes bench/broadcast.json and
bench/broadcast.md.

    .venv/bin/python scripts/bench_broadcast.py                     # 10,000 subscribers, 2 workers
    .venv/bin/python scripts/bench_broadcast.py --subscribers 1000 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from benchlib import (  # noqa: E402
    close_with_outbox_statuses,
    create_database,
    drop_database,
    rates_per_window,
    uptime,
)

from bot.conversation.publishing import broadcast  # noqa: E402
from bot.runtime.wiring import LazyParser, build_services, parser_from  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.models import Resident, utcnow  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.faults.processes import ProductProcess, RedisServer, product_env  # noqa: E402

LIMIT = 30.0


async def add_subscribers(db: Database, count: int) -> list[str]:
    chats = [str(10_000_000 + n) for n in range(count)]
    now = utcnow()
    rows = [
        {"channel": "telegram", "chat_id": chat, "language": "en", "topics": ["health"],
         "opted_out": False, "blocked": False, "created_at": now}
        for chat in chats
    ]
    async with db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Resident), rows[start:start + 2000])
    return chats


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeTelegram().start()
    fake.enforce_limits(per_second=LIMIT, burst=args.burst, per_chat_per_second=1,
                        per_chat_burst=3)
    workdir = Path(tempfile.mkdtemp(prefix="rumourbot-broadcast-"))
    redis = RedisServer(workdir).start()
    name, url = await create_database()
    workers: list[ProductProcess] = []
    load_start = os.getloadavg()[0]
    try:
        settings = Settings(_env_file=None, database_url=url, redis_url=redis.url,  # type: ignore[call-arg]
                            embedder="hashing", demo_data=False)
        services = build_services(settings, parser=LazyParser(lambda: parser_from(settings)))
        chats = await add_subscribers(services.db, args.subscribers)
        env = product_env(url, redis.url, fake, RUMOURBOT_OUTBOX_WORKER_TIMEOUT_SECONDS="30")
        workers = [ProductProcess("worker", env, workdir / f"worker-{n}.log")
                   for n in range(args.workers)]
        await asyncio.gather(*(w.start() for w in workers))
        queued_at = time.perf_counter()
        queued = await broadcast(services, "bench-broadcast", "health",
                                 {"en": "The clinic on Market Street opens at 8 every day."})
        queue_seconds = time.perf_counter() - queued_at
        print(f"queued {queued} messages in {queue_seconds:.1f} s; sending...", flush=True)
        deadline = time.monotonic() + args.subscribers / LIMIT * 1.5 + 60
        while time.monotonic() < deadline:
            with fake._lock:
                done = len({m["chat_id"] for m in fake.sent})
            if done >= len(chats):
                break
            print(f"  {done} delivered", flush=True)
            await asyncio.sleep(10)
        await asyncio.sleep(3)  # late duplicates, if any, arrive now
        with fake._lock:
            sent = list(fake.sent)
            refused = len(fake.too_many)
        statuses = await close_with_outbox_statuses(services)
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        fake.stop()
        await drop_database(name)

    times = sorted(m["at"] for m in sent)
    per_chat = Counter(str(m["chat_id"]) for m in sent)
    sustained = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    windows = rates_per_window(times)
    return {
        "what": "one broadcast to N Telegram subscribers through the fake Bot API enforcing "
                f"30 msg/s (token bucket, burst {args.burst:g}) and 1/s per chat",
        "platform_burst": args.burst,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "subscribers": args.subscribers,
        "workers": args.workers,
        "queue_seconds": round(queue_seconds, 2),
        "delivered": len(per_chat),
        "missing": len(set(chats) - set(per_chat)),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "platform_429s": refused,
        "send_seconds": round(times[-1] - times[0], 1) if times else 0,
        "sustained_per_second": round(sustained, 2),
        "within_limit_percent": round(100 * (LIMIT - sustained) / LIMIT, 2),
        "per_10s_window": {
            "min": round(min(windows), 1) if windows else None,
            "median": round(statistics.median(windows), 1) if windows else None,
            "max": round(max(windows), 1) if windows else None,
        },
        "outbox_statuses": {str(k): v for k, v in statuses.items()},
        "load_average_1m": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "uptime": uptime(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=float, default=10.0,
                        help="the fake platform's tolerance, in messages over the steady rate")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "broadcast.json")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Broadcast to {result['subscribers']} subscribers with {result['workers']} workers:",
        f"  sustained {result['sustained_per_second']}/s against a limit of {LIMIT:.0f}/s "
        f"({result['within_limit_percent']}% under it); 10-s windows "
        f"min/median/max {result['per_10s_window']['min']}/{result['per_10s_window']['median']}"
        f"/{result['per_10s_window']['max']}",
        f"  429s {result['platform_429s']}, duplicates {result['duplicates']}, "
        f"missing {result['missing']}, delivered {result['delivered']}",
        f"  {result['uptime']}"
        + ("  (busy machine)" if result["load_average_1m"]["end"] > (os.cpu_count() or 1) else ""),
    ]
    print("\n".join(lines))
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
