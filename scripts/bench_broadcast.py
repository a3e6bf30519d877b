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
import os
from pathlib import Path
from typing import Any

import benchlib  # first: the repository on sys.path, the process configured

from tests.fakes.telegram_api import FakeTelegram
from tests.faults.processes import product_env

LIMIT = 30.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeTelegram().start()
    fake.enforce_limits(per_second=LIMIT, burst=args.burst, per_chat_per_second=1,
                        per_chat_burst=3)
    load_start = os.getloadavg()[0]
    async with benchlib.broadcast_rig(fake, "rumourbot-broadcast-", "rumourbot_bench") as rig:
        rows = benchlib.subscriber_rows("telegram", 10_000_000, args.subscribers)
        chats = await benchlib.add_subscribers(rig.services.db, rows)
        await rig.start_workers(product_env(rig.url, rig.redis.url, fake,
                                            RUMOURBOT_OUTBOX_WORKER_TIMEOUT_SECONDS="30"),
                                args.workers)
        _, queue_seconds = await rig.broadcast("bench-broadcast")

        def delivered() -> int:
            with fake._lock:
                return len({m["chat_id"] for m in fake.sent})

        await benchlib.wait_until_delivered(delivered, len(chats), every=10,
                                            at_most=args.subscribers / LIMIT * 1.5 + 60)
        await asyncio.sleep(3)  # late duplicates, if any, arrive now
        with fake._lock:
            sent = list(fake.sent)
            refused = len(fake.too_many)
        statuses = await benchlib.close_with_outbox_statuses(rig.services)

    figures = benchlib.delivery_figures(chats, [(str(m["chat_id"]), m["at"]) for m in sent], LIMIT)
    return {
        "what": "one broadcast to N Telegram subscribers through the fake Bot API enforcing "
                f"30 msg/s (token bucket, burst {args.burst:g}) and 1/s per chat",
        "platform_burst": args.burst,
        "subscribers": args.subscribers,
        "workers": args.workers,
        "queue_seconds": round(queue_seconds, 2),
        **figures,
        "within_limit_percent": round(100 - figures["of_limit_percent"], 2),
        "platform_429s": refused,
        "outbox_statuses": {str(k): v for k, v in statuses.items()},
        **benchlib.machine_figures(load_start),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=float, default=10.0,
                        help="the fake platform's tolerance, in messages over the steady rate")
    parser.add_argument("--out", type=Path, default=benchlib.REPO / "bench" / "broadcast.json")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    benchlib.write_figures(args.out, result, [
        f"Broadcast to {result['subscribers']} subscribers with {result['workers']} workers:",
        f"  sustained {result['sustained_per_second']}/s against a limit of {LIMIT:.0f}/s "
        f"({result['within_limit_percent']}% under it); {benchlib.windows_line(result)}",
        f"  429s {result['platform_429s']}, duplicates {result['duplicates']}, "
        f"missing {result['missing']}, delivered {result['delivered']}",
        f"  {result['uptime']}" + benchlib.busy_mark(result),
    ])


if __name__ == "__main__":
    main()
