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
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from benchlib import (  # noqa: E402
    add_subscribers,
    busy_mark,
    close_with_outbox_statuses,
    cpu_seconds,
    create_database,
    delivery_figures,
    drop_database,
    machine_figures,
    windows_line,
    write_figures,
)
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402

from bot.conversation.publishing import broadcast  # noqa: E402
from bot.runtime.wiring import LazyParser, build_services, parser_from  # noqa: E402
from domain.models import utcnow  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.fakes import graph_api  # noqa: E402
from tests.fakes.graph_api import FakeGraphAPI  # noqa: E402
from tests.faults.processes import ProductProcess, RedisServer  # noqa: E402

LIMIT = 80.0  # messages per second per business number (Meta's default throughput)
PAIR_SECONDS = 6.0  # about one message every 6 s to the same person (pair rate limit)
COUNTERS_SITE = REPO / "scripts" / "profile_site"


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


def subscriber_rows(count: int) -> list[dict[str, Any]]:
    """WhatsApp residents who wrote within the last hours (their 24-hour window is open)."""
    now = utcnow()
    return [
        {"channel": "whatsapp", "chat_id": str(254_700_000_000 + n), "language": "en",
         "topics": ["health"], "opted_out": False, "blocked": False, "created_at": now,
         "last_inbound_at": now - timedelta(hours=2)}
        for n in range(count)
    ]


def worker_env(url: str, redis_url: str, fake: FakeGraphAPI, counts: Path,
               limit: float = LIMIT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUMOURBOT_")}
    env.update(
        RUMOURBOT_DATABASE_URL=url,
        RUMOURBOT_REDIS_URL=redis_url,
        RUMOURBOT_EMBEDDER="hashing",
        RUMOURBOT_DEMO_DATA="false",
        RUMOURBOT_LOG_FORMAT="json",
        RUMOURBOT_LOG_LEVEL="WARNING",
        RUMOURBOT_WHATSAPP_ACCESS_TOKEN=graph_api.TOKEN,
        RUMOURBOT_WHATSAPP_PHONE_NUMBER_ID=graph_api.PHONE_NUMBER_ID,
        RUMOURBOT_WHATSAPP_APP_SECRET=graph_api.APP_SECRET,
        RUMOURBOT_WHATSAPP_VERIFY_TOKEN=graph_api.VERIFY_TOKEN,
        RUMOURBOT_WHATSAPP_API_URL=fake.url,
        RUMOURBOT_WHATSAPP_API_VERSION=graph_api.VERSION,
        RUMOURBOT_WHATSAPP_MESSAGES_PER_SECOND=f"{limit:g}",
        RUMOURBOT_WHATSAPP_MESSAGING_TIER="unlimited",
        RUMOURBOT_OUTBOX_WORKER_TIMEOUT_SECONDS="30",
        RUMOURBOT_SOURCES_FILE="/nonexistent/sources.toml",
        PYTHONPATH=os.pathsep.join([str(COUNTERS_SITE), env.get("PYTHONPATH", "")]).strip(":"),
        BENCH_COUNTS_DIR=str(counts),
    )
    return env


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = LimitedGraphAPI(args.limit, args.burst, PAIR_SECONDS)
    fake.start()
    workdir = Path(tempfile.mkdtemp(prefix="rumourbot-broadcast-wa-"))
    counts_dir = workdir / "counts"
    counts_dir.mkdir()
    redis = RedisServer(workdir).start()
    name, url = await create_database("rumourbot_bench_wa")
    workers: list[ProductProcess] = []
    load_start = os.getloadavg()[0]
    try:
        settings = Settings(_env_file=None, database_url=url, redis_url=redis.url,  # type: ignore[call-arg]
                            embedder="hashing", demo_data=False)
        services = build_services(settings, parser=LazyParser(lambda: parser_from(settings)))
        numbers = await add_subscribers(services.db, subscriber_rows(args.subscribers))
        env = worker_env(url, redis.url, fake, counts_dir, args.limit)
        workers = [ProductProcess("worker", env, workdir / f"worker-{n}.log")
                   for n in range(args.workers)]
        await asyncio.gather(*(w.start() for w in workers))
        cpu_start = {n: cpu_seconds(w.pid) for n, w in enumerate(workers) if w.pid}
        queued_at = time.perf_counter()
        queued = await broadcast(services, "bench-broadcast-whatsapp", "health",
                                 {"en": "The clinic on Market Street opens at 8 every day."})
        queue_seconds = time.perf_counter() - queued_at
        print(f"queued {queued} messages in {queue_seconds:.1f} s; sending...", flush=True)
        # until everyone has it, or nothing more arrived for 30 s (a busy machine is slow, not
        # wrong: "missing" must mean lost, not late), at most 15 minutes
        deadline, progress_at, last = time.monotonic() + 900, time.monotonic(), -1
        while time.monotonic() < deadline and time.monotonic() - progress_at < 30:
            with fake._limits:  # noqa: SLF001 - the fake's own lock
                done = len({to for to, _ in fake.accepted_at})
            if done >= len(numbers):
                break
            if done != last:
                progress_at, last = time.monotonic(), done
            print(f"  {done} delivered", flush=True)
            await asyncio.sleep(5)
        await asyncio.sleep(7)  # late duplicates, if any, arrive now (after the pair window)
        cpu_used = sum(cpu_seconds(w.pid) - cpu_start.get(n, 0.0)
                       for n, w in enumerate(workers) if w.pid)
        with fake._limits:  # noqa: SLF001
            accepted = list(fake.accepted_at)
            refused = dict(fake.refused)
        statuses = await close_with_outbox_statuses(services)
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        fake.stop()
        await drop_database(name)

    counted: Counter[str] = Counter()
    for path in counts_dir.glob("*.json"):
        counted.update({k: v for k, v in json.loads(path.read_text()).items()
                        if not k.startswith("sql: ")})
    figures = delivery_figures(numbers, accepted, args.limit)
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
        **machine_figures(load_start),
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    refused = result["refused"]
    return [
        f"WhatsApp broadcast to {result['subscribers']} subscribers with {result['workers']} "
        f"workers (scripts/bench_broadcast_whatsapp.py):",
        f"  sustained {result['sustained_per_second']}/s against a limit of "
        f"{result.get('limit_per_second', LIMIT):g}/s "
        f"({result['of_limit_percent']}% of it); {windows_line(result)}",
        f"  refused: {refused['130429 throughput']} over throughput (130429), "
        f"{refused['131056 pair rate limit']} pair rate limit (131056); duplicates "
        f"{result['duplicates']}, missing {result['missing']}, delivered {result['delivered']}",
        f"  worker CPU {result['worker_cpu_ms_per_message']} ms per message; per message: "
        + ", ".join(f"{k} {v:g}" for k, v in result["per_message"].items()),
        f"  {result['uptime']}" + busy_mark(result),
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
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "broadcast_whatsapp.json")
    args = parser.parse_args()
    args.burst = args.limit / 3 if args.burst is None else args.burst
    result = asyncio.run(run(args))
    write_figures(args.out, result, report_lines(result))


if __name__ == "__main__":
    main()
