"""Broadcast proof on WhatsApp: one update to N subscribers through a fake Graph API that
enforces Meta's throughput and pair rate limits.

The production shape: a fresh PostgreSQL database, a private Redis, `--workers` real `rumourbot
worker` processes; the fake Cloud API (tests/fakes/graph_api.py, with limits added here)
refuses, as Meta does:

- over 80 messages per second for the number (the default throughput; a token bucket with a
  burst of `--burst`, a third of a second by default): error 130429 "Rate limit hit";
- a second message to the same person within 6 seconds (Meta's pair rate limit, documented as
  about one message every 6 seconds to one user): error 131056.

Subscribers wrote to the bot within the last day (their 24-hour window is open), so the update
goes as a text message and Meta's messaging-limit tier does not apply (set to unlimited here;
docs/whatsapp.md covers paced broadcasts to people outside the window). Reports the rate the
platform saw, refusals, duplicates and missing subscribers, and `uptime` at the end; writes
bench/broadcast_whatsapp.json and .md.

    .venv/bin/python scripts/bench_broadcast_whatsapp.py                  # 4,000 subscribers
    .venv/bin/python scripts/bench_broadcast_whatsapp.py --subscribers 1000 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import benchlib  # first: the repository on sys.path, the process configured
from starlette.requests import Request
from starlette.responses import Response

from domain.models import utcnow
from tests.fakes import graph_api
from tests.fakes.graph_api import FakeGraphAPI
from tests.faults.processes import process_env

LIMIT = 80.0  # messages per second per business number (Meta's default throughput)
PAIR_SECONDS = 6.0  # about one message every 6 s to the same person (pair rate limit)
COUNTERS_SITE = benchlib.REPO / "scripts" / "profile_site"


class Bucket:
    """Token bucket: `rate` per second, `burst` at most."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class LimitedGraphAPI(FakeGraphAPI):
    """The fake Cloud API, refusing sends over the number's throughput and the pair limit."""

    def __init__(self, per_second: float, burst: float, pair_seconds: float) -> None:
        super().__init__()
        self.bucket = Bucket(per_second, burst)
        self.pair_seconds = pair_seconds
        self.last_to: dict[str, float] = {}
        self.refused: Counter[int] = Counter()
        self.accepted_at: list[tuple[str, float]] = []
        self._limits = threading.Lock()

    async def _messages(self, request: Request) -> Response:
        raw = await request.body()
        try:
            to = str(json.loads(raw).get("to"))
        except (ValueError, AttributeError):
            to = ""
        now = time.monotonic()
        with self._limits:
            code = None
            if not self.bucket.take(now):
                code = 130429
            elif now - self.last_to.get(to, -1e9) < self.pair_seconds:
                code = 131056
            else:
                self.last_to[to] = now
            if code is not None:
                self.refused[code] += 1
        if code is not None:
            return self._error(code)
        response = await super()._messages(request)
        if response.status_code == 200:
            with self._limits:
                self.accepted_at.append((to, time.perf_counter()))
        return response


def worker_env(url: str, redis_url: str, fake: FakeGraphAPI, counts: Path,
               limit: float = LIMIT) -> dict[str, str]:
    """A worker's environment: its WhatsApp number on `fake`, told `limit` per second and no
    messaging-limit tier, counting its work per message into `counts`."""
    whatsapp = {
        "RUMOURBOT_WHATSAPP_ACCESS_TOKEN": graph_api.TOKEN,
        "RUMOURBOT_WHATSAPP_PHONE_NUMBER_ID": graph_api.PHONE_NUMBER_ID,
        "RUMOURBOT_WHATSAPP_APP_SECRET": graph_api.APP_SECRET,
        "RUMOURBOT_WHATSAPP_VERIFY_TOKEN": graph_api.VERIFY_TOKEN,
        "RUMOURBOT_WHATSAPP_API_URL": fake.url,
        "RUMOURBOT_WHATSAPP_API_VERSION": graph_api.VERSION,
        "RUMOURBOT_WHATSAPP_MESSAGES_PER_SECOND": f"{limit:g}",
        "RUMOURBOT_WHATSAPP_MESSAGING_TIER": "unlimited",
    }
    pythonpath = os.pathsep.join([str(COUNTERS_SITE), os.environ.get("PYTHONPATH", "")])
    return process_env(url, redis_url, **whatsapp, RUMOURBOT_LOG_LEVEL="WARNING",
                       RUMOURBOT_OUTBOX_WORKER_TIMEOUT_SECONDS="30",
                       PYTHONPATH=pythonpath.strip(":"), BENCH_COUNTS_DIR=str(counts))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = LimitedGraphAPI(args.limit, args.burst, PAIR_SECONDS)
    fake.start()
    load_start = os.getloadavg()[0]
    async with benchlib.broadcast_rig(fake, "rumourbot-broadcast-wa-", "rumourbot_bench_wa") as rig:
        counts_dir = rig.workdir / "counts"
        counts_dir.mkdir()
        # WhatsApp residents who wrote within the last hours (their 24-hour window is open)
        rows = benchlib.subscriber_rows("whatsapp", 254_700_000_000, args.subscribers,
                                        last_inbound_at=utcnow() - timedelta(hours=2))
        numbers = await benchlib.add_subscribers(rig.services.db, rows)
        await rig.start_workers(worker_env(rig.url, rig.redis.url, fake, counts_dir, args.limit),
                                args.workers)
        workers = rig.workers
        cpu_start = {n: benchlib.cpu_seconds(w.pid) for n, w in enumerate(workers) if w.pid}
        _, queue_seconds = await rig.broadcast("bench-broadcast-whatsapp")

        def count_delivered() -> int:
            with fake._limits:  # noqa: SLF001 - the fake's own lock
                return len({to for to, _ in fake.accepted_at})

        # until everyone has it, or nothing more arrived for 30 s (a busy machine is slow, not
        # wrong: "missing" must mean lost, not late), at most 15 minutes
        await benchlib.wait_until_delivered(count_delivered, len(numbers), every=5,
                                            at_most=900, stalled_after=30)
        await asyncio.sleep(7)  # late duplicates, if any, arrive now (after the pair window)
        cpu_used = sum(benchlib.cpu_seconds(w.pid) - cpu_start.get(n, 0.0)
                       for n, w in enumerate(workers) if w.pid)
        with fake._limits:  # noqa: SLF001
            accepted = list(fake.accepted_at)
            refused = dict(fake.refused)
        statuses = await benchlib.close_with_outbox_statuses(rig.services)

    counted: Counter[str] = Counter()
    for path in counts_dir.glob("*.json"):
        counted.update({k: v for k, v in json.loads(path.read_text()).items()
                        if not k.startswith("sql: ")})
    figures = benchlib.delivery_figures(numbers, accepted, args.limit)
    delivered = figures["delivered"]
    return {
        "what": "one broadcast to N WhatsApp subscribers (24-hour window open) through the fake "
                f"Graph API enforcing {args.limit:g} msg/s (token bucket, burst {args.burst:g}; "
                f"error 130429 beyond) and one message per {PAIR_SECONDS:g} s to the same "
                "number (error 131056)",
        "platform_burst": args.burst,
        "subscribers": args.subscribers,
        "workers": args.workers,
        "queue_seconds": round(queue_seconds, 2),
        **figures,
        "refused": {"130429 throughput": refused.get(130429, 0),
                    "131056 pair rate limit": refused.get(131056, 0)},
        "limit_per_second": args.limit,
        "outbox_statuses": {str(k): v for k, v in statuses.items()},
        "worker_cpu_ms_per_message": round(cpu_used * 1000 / max(1, delivered), 2),
        "per_message": {k: round(v / max(1, delivered), 2) for k, v in sorted(counted.items())},
        **benchlib.machine_figures(load_start),
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    refused = result["refused"]
    return [
        f"WhatsApp broadcast to {result['subscribers']} subscribers with {result['workers']} "
        f"workers (scripts/bench_broadcast_whatsapp.py):",
        f"  sustained {result['sustained_per_second']}/s against a limit of "
        f"{result.get('limit_per_second', LIMIT):g}/s "
        f"({result['of_limit_percent']}% of it); {benchlib.windows_line(result)}",
        f"  refused: {refused['130429 throughput']} over throughput (130429), "
        f"{refused['131056 pair rate limit']} pair rate limit (131056); duplicates "
        f"{result['duplicates']}, missing {result['missing']}, delivered {result['delivered']}",
        f"  worker CPU {result['worker_cpu_ms_per_message']} ms per message; per message: "
        + ", ".join(f"{k} {v:g}" for k, v in result["per_message"].items()),
        f"  {result['uptime']}" + benchlib.busy_mark(result),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=float, default=LIMIT,
                        help="messages per second the fake platform allows (and the bot is told)")
    parser.add_argument("--burst", type=float, default=None,
                        help="the fake platform's tolerance, in messages over the steady rate "
                             "(a third of a second's worth by default)")
    parser.add_argument("--out", type=Path,
                        default=benchlib.REPO / "bench" / "broadcast_whatsapp.json")
    args = parser.parse_args()
    args.burst = args.limit / 3 if args.burst is None else args.burst
    result = asyncio.run(run(args))
    benchlib.write_figures(args.out, result, report_lines(result))


if __name__ == "__main__":
    main()
