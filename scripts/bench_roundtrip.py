"""Telegram round trip: update in at the Bot API -> sendMessage out, against the fake server.

Starts the whole runtime (demo knowledge base, real PTB Application, outbox dispatcher) against
`tests/fakes/telegram_api.py` in polling and in webhook mode (the fake server POSTs each update
to the runtime served by uvicorn on loopback, as Telegram does), sends N forwarded rumours one
after another and measures, at the fake server, the time from the update being made available
to the bot's reply arriving. Prints p50/p90/p99 and writes bench/roundtrip.json.

    .venv/bin/python scripts/bench_roundtrip.py            # both modes, 200 forwards each
    .venv/bin/python scripts/bench_roundtrip.py --mode webhook -n 50 --database postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from bot.channels.telegram import WEBHOOK_PATH  # noqa: E402
from bot.runtime.app import Runtime  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 - for the local fake server
RUMOURS = [  # demo claims (answered) reworded as residents forward them, plus unknown ones (queued)
    "Forwarded!! The city will cut off ALL water supply for two weeks from Monday. Share!!",
    "Tap water in the city has been poisoned, do NOT drink it. Tell your family",
    "Electricity will be off in the whole city tonight, charge your phones now",
    "Is it true a giant crocodile was seen swimming in the city fountain this morning?",
    "They say the central market will be demolished next week to build a stadium",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies_ms: list[float]) -> dict[str, float]:
    return {"n": len(latencies_ms), "p50_ms": round(percentile(latencies_ms, 50), 1),
            "p90_ms": round(percentile(latencies_ms, 90), 1),
            "p99_ms": round(percentile(latencies_ms, 99), 1),
            "mean_ms": round(statistics.fmean(latencies_ms), 1),
            "max_ms": round(max(latencies_ms), 1)}


async def drive(fake: FakeTelegram, n: int, warmup: int) -> tuple[list[float], list[float]]:
    """Send `warmup + n` forwards one at a time; for the last `n`, the latencies (ms) from push
    to reply, and from the update leaving the server (getUpdates answer / webhook POST) to reply."""
    latencies, handling = [], []
    for i in range(warmup + n):
        chat = 900_000 + i % 25
        before = len(fake.sent_to(chat))
        update = fake.message_update(chat, f"{RUMOURS[i % len(RUMOURS)]} #{i}", forwarded=True)
        update_id = fake.push_update(update)
        sent = await fake.wait_for_messages(chat, before + 1, timeout=30)
        if len(sent) <= before:
            raise RuntimeError(f"no reply to update {update_id}")
        if i >= warmup:
            latencies.append((sent[before]["at"] - fake.pushed_at[update_id]) * 1000)
            handling.append((sent[before]["at"] - fake.delivered_at[update_id]) * 1000)
    return latencies, handling


def settings_for(fake: FakeTelegram, database_url: str, **extra: Any) -> Settings:
    return Settings(_env_file=None, database_url=database_url, demo_data=True,  # type: ignore[call-arg]
                    log_level="WARNING", telegram_token=SecretStr(fake.token),
                    telegram_api_url=fake.api_url, telegram_file_url=fake.file_url, **extra)


Latencies = tuple[list[float], list[float]]


async def bench_polling(fake: FakeTelegram, database_url: str, n: int, warmup: int) -> Latencies:
    runtime = Runtime(settings_for(fake, database_url, telegram_mode="polling"))
    async with runtime.running():
        return await drive(fake, n, warmup)


async def bench_webhook(fake: FakeTelegram, database_url: str, n: int, warmup: int) -> Latencies:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
    runtime = Runtime(settings_for(fake, database_url, telegram_webhook_url=url,
                                   telegram_webhook_secret=SecretStr(SECRET)))
    server = uvicorn.Server(uvicorn.Config(runtime.asgi(), log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.01)
        return await drive(fake, n, warmup)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="forwards measured per mode")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--mode", choices=["polling", "webhook", "both"], default="both")
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "roundtrip.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    modes = ["polling", "webhook"] if args.mode == "both" else [args.mode]
    results: dict[str, Any] = {}
    with FakeTelegram() as fake, tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            fake.reset()
            url = args.database or f"sqlite+aiosqlite:///{tmp}/{mode}.db"
            run = bench_polling if mode == "polling" else bench_webhook
            started = time.perf_counter()
            latencies, handling = await run(fake, url, args.n, args.warmup)
            results[mode] = summary(latencies) | {
                "from_delivery": summary(handling),
                "wall_s": round(time.perf_counter() - started, 1)}
            r, d = results[mode], results[mode]["from_delivery"]
            print(f"{mode:8} n={args.n}  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                  f"max {r['max_ms']:7.1f} ms  (from delivery to the bot: p50 {d['p50_ms']:.1f} ms,"
                  f" p99 {d['p99_ms']:.1f} ms)", flush=True)
        database = args.database.split(":", 1)[0] if args.database else "sqlite"
    report = {"what": "update available at the Bot API -> sendMessage received (fake server); "
                      "from_delivery: getUpdates answer / webhook POST -> sendMessage received",
              "load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
              "database": database, "python": platform.python_version(),
              "machine": platform.machine(), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
