"""Load: realistic Telegram traffic at fixed rates against the production shape.

Starts, as separate OS processes from the real CLI, N `rumourbot web` processes (each on its
own port) and one `rumourbot worker`, against a fresh PostgreSQL database (created here and
dropped at the end, even on Ctrl-C), Redis, and the fake Telegram Bot API of
`tests/fakes/telegram_api.py` (in a process of its own, so its work never shares a GIL with the
load generator's clock). It then POSTs Bot API `Update`s straight to the web processes'
`/telegram/webhook` route with the secret header (round robin, as a load balancer would; at
most 40 requests in flight, Telegram's `max_connections` ceiling), open loop at a fixed rate:
message i is due at start + i/rate whether or not earlier ones were answered.

Traffic is a viral afternoon: mostly forwards of a handful of rumours in six languages (a few
versions of each circulate), some as captions of forwarded photos, some new claims nobody has
asked about yet, and greetings and commands in en, sw, hi, ar, es and id. Every message comes
from its own resident (chat id), so the first `sendMessage` the fake records for a chat is the
reply to that chat's one update.

Reported per (web processes, rate): updates accepted (HTTP 200) per second, errors, replies
sent per second, update-to-reply latency (the update's due time at the generator -> the fake
recording the `sendMessage`; both `time.perf_counter()`, one monotonic clock for every process
on the host) p50 / p99 / max, replies missing after the drain, the resident set size of every
product process (start, end, max, slope in MB per minute), the CPU of every process involved
(and of the rest of the host: a shared machine's neighbours show up there) and the product's
CPU per reply, which unlike latency does not depend on how busy the neighbours are.

Each (web processes, rate) step gets fresh processes and a fresh copy of a database prepared
once through the CLI (`migrate`, `import` of the demo knowledge base, `check` to store its
vectors). Sending is set to 2000 messages/s (RUMOURBOT_TELEGRAM_MESSAGES_PER_SECOND): Telegram
allows about 30/s per bot, up to 1000/s with paid broadcasts, and hundreds of residents a
second cannot be answered under 30/s. Each process gets one OpenMP thread for the embedding
model (several processes share the cores).

    .venv/bin/python scripts/bench_load.py                        # 1 and 2 webs, 100..500/s, 60 s
    .venv/bin/python scripts/bench_load.py --webs 2 --rates 200 --soak   # 10 minutes
    .venv/bin/python scripts/bench_load.py --webs 1 --rates 150 --duration 30 --profile
    .venv/bin/python scripts/bench_load.py --checkout /tmp/old-tree ...  # compare two versions

Figures go to bench/load.json and bench/load.md (`--out` to change) and are printed; each
process's output is kept in a temporary directory (printed at the end). `--profile` attaches
py-spy (a dev dependency) to every product process for the measured window and prints where
its CPU went per message (scripts/profile_summary.py; docs/profile.md).

Every product process also counts its SQL statements, transactions and Redis commands
(scripts/profile_site/sitecustomize.py, loaded through PYTHONPATH): the report gives them per
message beside the CPU per message, with PostgreSQL's own transaction count for the database
(pg_stat_database) and `uptime` at the end of each step. Per message means: a web process's
figures divided by the updates it stored in the window, the worker's by the replies it sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from benchlib import CLOCK_TICKS, cancel_on_signals, cpu_seconds, uptime  # noqa: E402 - beside this script
from profile_summary import summarise  # noqa: E402 - beside this script

VENV_BIN = Path(sys.executable).parent
SECRET = "bench-load-secret"  # noqa: S105 - for the local fake server
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_CONNECTIONS = 40  # Telegram's setWebhook max_connections ceiling
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE_SECONDS = 2.0
SLO_P99_MS = 200.0
TELEGRAM_RATE = 2000  # RUMOURBOT_TELEGRAM_MESSAGES_PER_SECOND for the run
PAGE = 4096

# -- the traffic -------------------------------------------------------------------------------
# Viral rumours, as residents forward them: a few versions of each circulate (same words, a
# "forwarded" banner, a plea to share, shouting), in the language it spreads in.
VIRAL: list[tuple[str, list[str]]] = [
    ("en", ["The city will cut off ALL water supply for two weeks from Monday. Share!!",
            "Forwarded many times: the city will cut off all water supply for two weeks "
            "starting Monday",
            "URGENT!!! City to cut off all water supply for two weeks from Monday. "
            "Fill your tanks and share"]),
    ("en", ["Tap water in the city has been poisoned, do NOT drink it. Tell your family",
            "tap water in the city has been poisoned and is not safe to drink!! pls share",
            "⚠️ Tap water has been poisoned. Do not drink tap water. Forward to all groups ⚠️"]),
    ("en", ["The city has declared a curfew from 6 pm tonight in all districts",
            "BREAKING: curfew from 6pm tonight in all districts of the city. Stay home!"]),
    ("en", ["Forward this message to 10 groups and you will receive free mobile data",
            "Send this to 10 groups and get 10GB free mobile data!!! It works I tried"]),
    ("sw", ["Jiji litakata maji yote kwa wiki mbili kuanzia Jumatatu. Tuma kwa wengine!",
            "Jiji litakata maji yote kwa wiki mbili kuanzia Jumatatu"]),
    ("sw", ["Masoko yote ya jiji yatafungwa kesho kwa sababu ya maandamano",
            "HABARI: masoko yote ya jiji yatafungwa kesho kwa sababu ya maandamano!!"]),
    ("hi", ["नगर निगम अगले सोमवार से दो हफ्ते के लिए पूरे शहर की पानी की सप्लाई बंद कर देगा। "
            "सभी को भेजें",
            "नगर निगम अगले सोमवार से दो हफ्ते के लिए पूरे शहर की पानी की सप्लाई बंद कर देगा।"]),
    ("ar", ["قطع المياه عن المدينة بالكامل لمدة أسبوعين ابتداءً من الأحد. انشرها",
            "عاجل: قطع المياه عن المدينة بالكامل لمدة أسبوعين ابتداءً من الأحد"]),
    ("es", ["El agua del grifo está contaminada con cólera en toda la ciudad. ¡Compártelo!",
            "URGENTE: el agua del grifo está contaminada con cólera en toda la ciudad"]),
    ("id", ["Pemerintah kota akan memberlakukan jam malam mulai pukul 20.00 malam ini. "
            "Sebarkan!",
            "Pemerintah kota akan memberlakukan jam malam mulai pukul 20.00 malam ini"]),
]
VIRAL_WEIGHTS = [18, 14, 10, 8, 10, 6, 8, 6, 5, 5]  # the water rumour is the afternoon's hit
# Greetings, thanks and commands, as residents type them.
CHAT: list[tuple[str, str]] = [
    ("en", "/start"), ("en", "/help"), ("en", "hi"), ("en", "Hello"), ("en", "thank you!"),
    ("en", "/subscribe health"), ("sw", "habari"), ("sw", "Mambo vipi"), ("sw", "asante sana"),
    ("sw", "/language sw"), ("hi", "नमस्ते"), ("hi", "namaste ji"), ("hi", "धन्यवाद"),
    ("ar", "مرحبا"), ("ar", "السلام عليكم"), ("ar", "شكرا"), ("es", "hola"),
    ("es", "buenos días"), ("es", "gracias"), ("id", "halo"), ("id", "selamat pagi"),
    ("id", "terima kasih"), ("en", "/start"), ("sw", "/start"),
]
# New claims: every one different (the bot has never seen them; most go to the city's team).
PLACES = ["Kibera", "Eastlands", "River Road", "Station Avenue", "the northern districts",
          "Westgate", "the old market", "Central Park", "the bus terminal", "Hill View"]
EVENTS = ["will be closed", "has been flooded", "will lose power", "is being demolished",
          "has a cholera outbreak", "is under curfew", "will get free food aid",
          "has a gas leak", "has been sealed off by police", "will have no buses"]
WHEN = ["tomorrow", "tonight", "on Friday", "from next week", "this weekend", "until Monday"]
ASK = ["Is it true that", "Someone said", "My neighbour says", "Heard on the radio that",
       "Please check:", "Is this real?"]


@dataclass
class Mix:
    viral: float = 0.62
    photo: float = 0.05  # a forwarded photo whose caption is a viral rumour
    new_claim: float = 0.03
    # the rest: greetings, thanks and commands


def build_update(
    rng: random.Random, mix: Mix, update_id: int, chat_id: int
) -> tuple[dict[str, Any], str]:
    """One Bot API `Update` from resident `chat_id`, as Telegram POSTs it, and its kind in the
    mix (viral, photo, new_claim, chat): latency is reported per kind too, since a photo's
    reply waits for its picture to be read."""
    now = int(time.time())
    roll = rng.random()
    forwarded = False
    fields: dict[str, Any] = {}
    kind = "chat"
    if roll < mix.viral + mix.photo:
        kind = "viral"
        lang, versions = rng.choices(VIRAL, weights=VIRAL_WEIGHTS)[0]
        text = rng.choice(versions)
        forwarded = rng.random() < 0.9  # a few paste the text instead of forwarding it
        if roll >= mix.viral:
            fields = {"photo": _photo_sizes(rng), "caption": text}
            forwarded = True
            kind = "photo"
        else:
            fields = {"text": text}
    elif roll < mix.viral + mix.photo + mix.new_claim:
        kind = "new_claim"
        lang = "en"
        text = (f"{rng.choice(ASK)} {rng.choice(PLACES)} {rng.choice(EVENTS)} "
                f"{rng.choice(WHEN)}? ref {update_id}")
        forwarded = rng.random() < 0.5
        fields = {"text": text}
    else:
        lang, text = rng.choice(CHAT)
        fields = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0,
                                   "length": len(text.split(" ", 1)[0])}]
    message: dict[str, Any] = {
        "message_id": rng.randint(2, 5000),
        "from": {"id": chat_id, "is_bot": False, "first_name": "Resident",
                 "language_code": lang},
        "chat": {"id": chat_id, "type": "private", "first_name": "Resident"},
        "date": now,
    }
    if forwarded:
        message["forward_origin"] = {
            "type": "hidden_user", "date": now - rng.randint(60, 7200),
            "sender_user_name": rng.choice(["Mama Njeri", "Family group", "Ravi", "أحمد"])}
    message.update(fields)
    return {"update_id": update_id, "message": message}, kind


def _photo_sizes(rng: random.Random) -> list[dict[str, Any]]:
    file_id = f"AgACAgQAAxkBAAI{rng.randint(0, 10**9):09d}"
    return [{"file_id": f"{file_id}-s", "file_unique_id": "AQADs", "width": 90, "height": 67,
             "file_size": 1200},
            {"file_id": file_id, "file_unique_id": "AQADm", "width": 1280, "height": 960,
             "file_size": 84000}]


# -- the fake Bot API, in a process of its own -------------------------------------------------
def _fake_main(conn: Connection, bind: str = "") -> None:
    """Serve FakeTelegram; answer commands over `conn`: drain (sends so far) and stop.
    `bind`: an address to listen on instead of loopback (bench_scaleout.py's bridge)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    _answer_without_nagle()
    if bind:
        _listen_on(bind)
    from tests.fakes.telegram_api import FakeTelegram

    fake = FakeTelegram().start()
    conn.send({"port": fake.port, "token": fake.token, "api_url": fake.api_url,
               "file_url": fake.file_url})
    try:
        while True:
            try:
                command = conn.recv()
            except EOFError:  # the parent is gone
                return
            if command == "drain":
                with fake._lock:  # noqa: SLF001 - the fake's own lock around what it records
                    sent, fake.sent = fake.sent, []
                    fake.calls = []
                # what was sent: the same reply twice to one chat is a duplicate
                conn.send([(int(r["chat_id"]), r["at"],
                            f"{r.get('photo') or ''} {r.get('text') or ''}"[:160])
                           for r in sent])
            elif command == "stop":
                return
    finally:
        fake.stop()


def _answer_without_nagle() -> None:
    """Set TCP_NODELAY on the fake server's connections, as Telegram's own front end does.

    The fake's loopback server binds a socket made with protocol 0, so asyncio does not set
    TCP_NODELAY on the connections it accepts, and uvicorn writes a response's head and body
    separately: the body then waits for the client's delayed ACK, about 40 ms per call. That is
    the test fake, not the bot, so it is left out of these figures.
    """
    from uvicorn.protocols.http import h11_impl

    made = h11_impl.H11Protocol.connection_made

    def connection_made(self: Any, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        made(self, transport)

    h11_impl.H11Protocol.connection_made = connection_made  # type: ignore[method-assign]


def _listen_on(address: str) -> None:
    """Make the test fakes' server (tests/fakes/http_server.py binds 127.0.0.1) listen on
    `address`, in this process only: processes in other network namespaces cannot reach this
    host's loopback."""
    from types import SimpleNamespace

    from tests.fakes import http_server

    class OnAddress(socket.socket):
        def bind(self, where: Any) -> None:
            super().bind((address, where[1]))

    http_server.socket = SimpleNamespace(**(vars(socket) | {"socket": OnAddress}))  # type: ignore[attr-defined,assignment]


class FakeBotApi:
    """The fake Telegram server's process, and the sends it recorded."""

    def __init__(self, bind: str = "") -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_fake_main, args=(child, bind), daemon=True,
                                   name="fake-telegram")
        self.info: dict[str, Any] = {}

    def start(self) -> FakeBotApi:
        self.process.start()
        if not self._conn.poll(180):  # a spawned process imports slowly on a busy host
            raise RuntimeError("the fake Telegram server did not start")
        self.info = self._conn.recv()
        return self

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    async def drain(self) -> list[tuple[int, float, str]]:
        """(chat id, perf_counter time, photo and text's start) of every send since the last
        drain."""
        return await asyncio.to_thread(self._drain)

    def _drain(self) -> list[tuple[int, float, str]]:
        self._conn.send("drain")
        result: list[tuple[int, float, str]] = self._conn.recv()
        return result

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# -- PostgreSQL and Redis ----------------------------------------------------------------------
async def _pg(statement: str, admin: str = PG_ADMIN) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(name: str, template: str | None = None,
                          admin: str = PG_ADMIN) -> str:
    suffix = f' TEMPLATE "{template}"' if template else ""
    await _pg(f'CREATE DATABASE "{name}"{suffix}', admin)
    server = admin.removeprefix("postgresql://").rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{server}/{name}"


async def drop_database(name: str, admin: str = PG_ADMIN) -> None:
    await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin)


async def clear_redis(url: str) -> int:
    """Delete this benchmark's keys (rate-limit buckets, flood counters) from its Redis db."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match="rumourbot:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await redis.delete(*batch)
                batch = []
        if batch:
            deleted += await redis.delete(*batch)
    finally:
        await redis.aclose()
    return deleted


# -- product processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Placement:
    """Where the product processes run and how they reach PostgreSQL, Redis and the fake Bot
    API: here, all on this host's loopback. bench_scaleout.py puts each web/worker pair in a
    network namespace of its own (`hosts` of them) and overrides these."""

    pg_admin: str = PG_ADMIN
    redis_port: int = 6379  # the Redis server whose CPU is counted
    hosts: int = 1

    def command_prefix(self, slot: int) -> list[str]:
        """What runs a command on host `slot` (0-based)."""
        return []

    def address(self, slot: int) -> str:
        """Where a process on host `slot` listens, as the load generator reaches it."""
        return "127.0.0.1"

    def adapt_env(self, env: dict[str, str], slot: int) -> dict[str, str]:
        """The environment of a process on host `slot` (service addresses as seen from it)."""
        return env


@dataclass
class Product:
    """One `rumourbot` process (web or worker), maybe under py-spy."""

    role: str
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path
    profile: Path | None = None
    pid: int = 0  # the Python process (py-spy's child when profiling)
    host: str = "127.0.0.1"  # where it listens, as this script reaches it

    def find_pid(self) -> int:
        if not self.pid:
            self.pid = self.popen.pid
        return self.pid


COUNTERS_SITE = REPO / "scripts" / "profile_site"  # sitecustomize: statements, transactions


def product_env(fake: dict[str, Any], database_url: str, redis_url: str, port: int,
                public_port: int, checkout: Path | None = None,
                counts: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUMOURBOT_")}
    path = [str(checkout)] if checkout is not None else []  # that tree before the installed one
    if counts is not None:  # count every SQL statement, transaction and Redis command
        path.append(str(COUNTERS_SITE))
        env["BENCH_COUNTS_DIR"] = str(counts)
    if path:
        env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")]).strip(":")
    env.update({
        "RUMOURBOT_DATABASE_URL": database_url,
        "RUMOURBOT_REDIS_URL": redis_url,
        "RUMOURBOT_HOST": "127.0.0.1",
        "RUMOURBOT_PORT": str(port),
        "RUMOURBOT_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
        "RUMOURBOT_LOG_LEVEL": "WARNING",
        "RUMOURBOT_DEMO_DATA": "false",  # the knowledge base is imported once, below
        "RUMOURBOT_TELEGRAM_TOKEN": fake["token"],
        "RUMOURBOT_TELEGRAM_API_URL": fake["api_url"],
        "RUMOURBOT_TELEGRAM_FILE_URL": fake["file_url"],
        "RUMOURBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{public_port}{WEBHOOK_PATH}",
        "RUMOURBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "RUMOURBOT_TELEGRAM_MESSAGES_PER_SECOND": str(TELEGRAM_RATE),
        "RUMOURBOT_SOURCES_FILE": "/nonexistent/sources.toml",  # no connectors run
        # one thread per process for the embedding model: several processes share two cores
        "OMP_NUM_THREADS": "1",
        "RUMOURBOT_EMBED_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def start_product(role: str, name: str, env: dict[str, str], port: int, logs: Path,
                  profile_dir: Path | None, placement: Placement | None = None,
                  slot: int = 0) -> Product:
    placement = placement or Placement()
    env = placement.adapt_env(env, slot)
    command = [*placement.command_prefix(slot), str(VENV_BIN / "rumourbot"), role]
    if role == "worker":
        command += ["--port", str(port)]
    profile = profile_dir / f"{name}.txt" if profile_dir is not None else None
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                 stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO)
    return Product(role, name, port, popen, log, profile, host=placement.address(slot))


async def wait_ready(products: list[Product], limit: float = 300.0) -> None:
    """Until every process answers /readyz (startup done: migrations, indexes, webhook set)."""
    deadline = time.monotonic() + limit
    pending = list(products)
    while pending:
        for product in list(pending):
            if product.popen.poll() is not None:
                tail = product.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{product.name} exited with {product.popen.returncode}:\n"
                                   f"{tail}")
            status = await http_get_status(product.host, product.port, "/readyz")
            if status == 200:
                pending.remove(product)
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {limit:.0f}s: {[p.name for p in pending]}")
        await asyncio.sleep(0.25)
    for product in products:
        product.find_pid()


async def http_get_status(host: str, port: int, path: str) -> int:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return 0
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        line = await asyncio.wait_for(reader.readline(), 5)
        return int(line.split()[1]) if line.startswith(b"HTTP/") else 0
    except (OSError, TimeoutError, ValueError, IndexError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def stop_products(products: list[Product], timeout: float = 20.0) -> None:
    """SIGINT (uvicorn's graceful stop), then SIGKILL."""
    for product in products:
        if product.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(product.popen.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    for product in products:
        with contextlib.suppress(subprocess.TimeoutExpired):
            product.popen.wait(max(0.1, deadline - time.monotonic()))
        if product.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(product.popen.pid, signal.SIGKILL)
            product.popen.wait(5)


# -- resource sampling ---------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def open_files(pid: int) -> tuple[int, int] | None:
    """(open file descriptors, of which sockets) of a process."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return None
    return len(links), sum(1 for link in links if link.startswith("socket:"))


def pids_named(name: str, containing: str = "") -> list[int]:
    """Processes called `name` whose command line contains `containing`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() != name:
                    continue
                if containing and containing not in Path(f"/proc/{entry}/cmdline").read_text(
                        errors="replace"):
                    continue
                found.append(int(entry))
            except OSError:
                continue
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Sampler:
    """RSS of each product process every SAMPLE_SECONDS; CPU of everything on the host. Also,
    for a soak: each process's open file descriptors and sockets (every sample), the
    database's PostgreSQL connections and each process's asyncio tasks (its /metrics), every
    SLOW_EVERY samples."""

    products: list[Product]
    others: dict[str, int]  # role -> pid (fake Telegram, generator)
    database: str  # its PostgreSQL backends are counted
    counts: Path | None = None  # the processes' statement counters (scripts/profile_site)
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    placement: Placement = field(default_factory=Placement)
    # process (or "postgres") -> what ("fds", "sockets", "asyncio_tasks", "connections") -> points
    resources: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)

    def record(self, process: str, what: str, at: float, value: float) -> None:
        self.resources.setdefault(process, {}).setdefault(what, []).append((at, value))

    def cpu_snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {p.name: cpu_seconds(p.pid) for p in self.products}
        snap |= {name: cpu_seconds(pid) for name, pid in self.others.items()}
        snap["_postgres"] = {pid: cpu_seconds(pid)
                             for pid in pids_named("postgres", f" {self.database} ")}
        snap["redis"] = sum(cpu_seconds(p) for p in pids_named(
            "redis-server", f":{self.placement.redis_port}"))
        busy, total = machine_busy()
        snap["_busy"], snap["_total"] = busy / CLOCK_TICKS, total / CLOCK_TICKS
        return snap

    def sample(self) -> None:
        now = time.perf_counter()
        for product in self.products:
            value = rss_mb(product.pid)
            if value is not None:
                self.samples.setdefault(product.name, []).append((now, value))
            files = open_files(product.pid)
            if files is not None:
                self.record(product.name, "fds", now, files[0])
                self.record(product.name, "sockets", now, files[1])

    async def sample_slow(self) -> None:
        """PostgreSQL connections to the database, and asyncio tasks per process."""
        now = time.perf_counter()
        with contextlib.suppress(Exception):
            self.record("postgres", "connections", now,
                        await pg_connections(self.database, self.placement.pg_admin))
        for product in self.products:
            gauges = await scrape_metrics(product.host, product.port)
            if "asyncio_tasks" in gauges:
                self.record(product.name, "asyncio_tasks", time.perf_counter(),
                            gauges["asyncio_tasks"])

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            self.sample()
            if n % SLOW_EVERY == 0:
                await self.sample_slow()
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


SLOW_EVERY = 5  # samples (10 s): /metrics and pg_stat_activity are not free


async def pg_connections(database: str, admin: str = PG_ADMIN) -> int:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database))
    finally:
        await conn.close()


async def scrape_metrics(host: str, port: int) -> dict[str, float]:
    """The unlabelled `rumourbot_*` gauges a process's /metrics reports now."""
    found: dict[str, float] = {}
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = (await asyncio.wait_for(reader.read(), 30)).decode(errors="replace")
        writer.close()
    except (OSError, TimeoutError):
        return found
    for name, value in re.findall(r"^rumourbot_(\w+) (\S+)$", text, re.MULTILINE):
        with contextlib.suppress(ValueError):
            found[name] = float(value)
    return found


async def backlog_at(port: int, at: float, host: str = "127.0.0.1") -> dict[str, float]:
    """The inbox (accepted, not yet handled) and outbox (replies not yet sent) depths that a
    process's /metrics reports at `at`."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    gauges = await scrape_metrics(host, port)
    return {k: v for k, v in gauges.items() if k in ("inbox_depth", "outbox_depth")}


async def profile_window(products: list[Product], at: float, seconds: float) -> None:
    """py-spy attached to every product process for exactly the measured window (start-up,
    warm-up and drain left out), raw collapsed stacks to each product's `profile` file."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    spies = []
    for product in products:
        if product.profile is None:
            continue
        spies.append(await asyncio.create_subprocess_exec(
            str(VENV_BIN / "py-spy"), "record", "--pid", str(product.pid), "--format", "raw",
            "--rate", "200", "--nonblocking", "--duration", str(max(1, int(seconds))),
            "-o", str(product.profile), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL))
    await asyncio.gather(*(spy.wait() for spy in spies))


async def snapshot_at(sampler: Sampler, at: float) -> dict[str, Any]:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    snap = sampler.cpu_snapshot()
    snap["_counts"] = read_counts(sampler.counts, sampler.products)
    snap["_pg"] = await pg_database_stats(sampler.database, sampler.placement.pg_admin)
    return snap


def read_counts(directory: Path | None, products: list[Product]) -> dict[str, dict[str, int]]:
    """What each product process's counters (scripts/profile_site) say now."""
    found: dict[str, dict[str, int]] = {}
    if directory is None:
        return found
    for product in products:
        with contextlib.suppress(OSError, ValueError):
            found[product.name] = json.loads((directory / f"{product.pid}.json").read_text())
    return found


async def pg_database_stats(database: str, admin: str = PG_ADMIN) -> dict[str, int]:
    """PostgreSQL's own counters for one database: transactions committed and rolled back."""
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, "
            "tup_updated, tup_deleted, blks_hit, blks_read FROM pg_stat_database "
            "WHERE datname = $1", database)
    finally:
        await conn.close()
    return dict(row) if row else {}


async def outbox_rows_of(database: str, chats: list[int], admin: str = PG_ADMIN) -> list[str]:
    """The outbox rows of these residents' chats, one line each (to tell a duplicate's cause)."""
    import asyncpg

    conn = await asyncpg.connect(admin.rsplit("/", 1)[0] + "/" + database)
    try:
        rows = await conn.fetch(
            "SELECT id, chat_id, kind, dedup_key, resident_id, status, attempts, created_at, "
            "left(payload::text, 60) AS start FROM outbox WHERE chat_id = ANY($1::text[]) "
            "ORDER BY chat_id, id", [str(c) for c in chats])
        inbox = await conn.fetch(
            "SELECT platform_id, attempts, received_at, processed_at FROM inbox "
            "WHERE platform_id LIKE ANY($1::text[]) ORDER BY platform_id",
            [f"%{c}%" for c in chats])
    finally:
        await conn.close()
    return ([" ".join(str(v) for v in row.values()) for row in rows]
            + ["inbox " + " ".join(str(v) for v in row.values()) for row in inbox])


def handled(before: dict[str, Any], after: dict[str, Any], replies: int) -> dict[str, int]:
    """Messages each process handled in the window: a web process, the updates it stored in
    its inbox (counted by scripts/profile_site); the worker, the replies sent. Dividing each
    process's work by its own count keeps "per message" right when a backlog builds up (a
    web process ahead of the worker, or behind the generator)."""
    out: dict[str, int] = {}
    for name, counts in after.get("_counts", {}).items():
        start = before.get("_counts", {}).get(name, {})
        stored = sum(v - start.get(k, 0) for k, v in counts.items()
                     if k.startswith("sql: INSERT INTO inbox"))
        out[name] = stored if name.startswith("web") and stored > 0 else replies
    return out


def role_of(name: str) -> str:
    return name.rstrip("0123456789")


def handled_by_role(counts_of: dict[str, int], replies: int) -> dict[str, int]:
    """Messages each role (web, worker) handled: the web processes' stored updates added up;
    the workers', the replies sent (each worker's `handled` is every reply). With several
    processes per role, a role's cost per message is its processes' work divided by this."""
    out: dict[str, int] = {}
    for name, n in counts_of.items():
        role = role_of(name)
        out[role] = out.get(role, 0) + n if role == "web" else replies
    return out


def per_reply(before: dict[str, Any], after: dict[str, Any], replies: int) -> dict[str, Any]:
    """Database and Redis work per message, per process (divided by what that process
    handled, `handled`) and in total (the processes' figures added: one answered message)."""
    if not replies:
        return {}
    out: dict[str, Any] = {}
    total: Counter[str] = Counter()
    counts_of = handled(before, after, replies)
    per_role = handled_by_role(counts_of, replies)
    for name, counts in after.get("_counts", {}).items():
        start = before.get("_counts", {}).get(name, {})
        n = max(1, counts_of.get(name, replies))
        delta = {k: v - start.get(k, 0) for k, v in counts.items()}
        statements = {k.removeprefix("sql: "): v for k, v in delta.items() if k.startswith("sql: ")}
        delta = {k: v for k, v in delta.items() if not k.startswith("sql: ")}
        per = {k: v / n for k, v in delta.items()}
        n_role = max(1, per_role.get(role_of(name), n))  # one message's share of this process
        total.update({k: v / n_role for k, v in delta.items()})
        out[name] = {k: round(v, 2) for k, v in per.items()} | {"messages": n}
        out.setdefault("statements", {})[name] = {
            k: round(v / n, 3) for k, v in sorted(statements.items(), key=lambda i: -i[1])
            if v / n >= 0.01}
    if total:
        trips = (total["statements"] + total["begin"] + total["commit"] + total["rollback"])
        out["all"] = {k: round(v, 2) for k, v in total.items()}
        out["all"]["transactions"] = round(total["begin"] + total["autocommit_statements"], 2)
        out["all"]["db_round_trips"] = round(trips, 2)
    pg_before, pg_after = before.get("_pg", {}), after.get("_pg", {})
    if pg_after:
        # committed + rolled back as PostgreSQL counts them (the benchmark's own 2 queries and
        # autovacuum included)
        out["postgres"] = {k: round((v - pg_before.get(k, 0)) / replies, 2)
                           for k, v in pg_after.items()}
        out["postgres"]["transactions"] = round(
            out["postgres"]["xact_commit"] + out["postgres"]["xact_rollback"], 2)
    return out


def memory_summary(points: list[tuple[float, float]], start: float, end: float,
                   drained: float) -> dict[str, Any]:
    """RSS at the start and end of the measured window, its slope there (least squares), and
    the maximum until the backlog was drained."""
    window = [(t, v) for t, v in points if start <= t <= end] or points
    if not window:
        return {}
    values = [v for _, v in window]
    peak = max((v for t, v in points if start <= t <= drained), default=0.0)
    return {"start_mb": round(values[0], 1), "end_mb": round(values[-1], 1),
            "max_mb": round(max(peak, *values), 1),
            "slope_mb_per_min": round(slope(window) * 60, 2),
            "growth_mb_per_10min": round(slope(window) * 600, 2), "samples": len(window)}


def resource_summary(points: list[tuple[float, float]], start: float,
                     end: float) -> dict[str, Any]:
    """A count (descriptors, tasks, connections) over the measured window: start, end, max,
    and its slope per 10 minutes (least squares)."""
    window = [(t, v) for t, v in points if start <= t <= end] or points
    if not window:
        return {}
    values = [v for _, v in window]
    return {"start": values[0], "end": values[-1], "max": max(values),
            "slope_per_10min": round(slope(window) * 600, 2), "samples": len(window)}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per second)."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


# -- the load generator ----------------------------------------------------------------------------
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class WebhookClient:
    """One keep-alive HTTP/1.1 connection to a web process (a tiny client: the generator must
    stay cheap, it shares the two cores with what it measures)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.head = (f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Content-Type: application/json\r\n{SECRET_HEADER}: {SECRET}\r\n"
                     "Content-Length: ").encode()

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        found = CONTENT_LENGTH.search(head)
        if found and int(found.group(1)):
            await self.reader.readexactly(int(found.group(1)))
        elif b"chunked" in head.lower():
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"connection: close" in head.lower():
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Offered:
    chat_id: int
    due: float
    measured: bool
    status: int = -1
    posted_at: float = 0.0  # written to the connection (after waiting for a free one)
    answered_at: float = 0.0  # HTTP response received
    kind: str = ""  # viral, photo, new_claim or chat (`build_update`)


async def generate(ports: list[int], rate: float, start: float, warmup: float, duration: float,
                   seed: int, mix: Mix, chat_base: int,
                   hosts: list[str] | None = None) -> list[Offered]:
    """Offer `rate` updates per second from `start` (a perf_counter time) for warmup + duration
    seconds, round robin over `ports` (on `hosts`, loopback by default); returns every update
    offered."""
    hosts = hosts or ["127.0.0.1"] * len(ports)
    rng = random.Random(seed)  # noqa: S311 - traffic, not secrets
    queues: list[asyncio.Queue[tuple[Offered, bytes] | None]] = [asyncio.Queue() for _ in ports]
    per_port = max(1, MAX_CONNECTIONS // len(ports))
    offered: list[Offered] = []

    async def connection(port: int, host: str,
                         queue: asyncio.Queue[tuple[Offered, bytes] | None]) -> None:
        conn = WebhookClient(port, host)
        while (item := await queue.get()) is not None:
            record, body = item
            record.posted_at = time.perf_counter()
            try:
                record.status = await asyncio.wait_for(conn.post(body), 30)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                record.status = 0
                conn.close()
            record.answered_at = time.perf_counter()
        conn.close()

    workers = [asyncio.create_task(connection(port, host, queue))
               for port, host, queue in zip(ports, hosts, queues, strict=True)
               for _ in range(per_port)]
    total = int(rate * (warmup + duration))
    measured_from = math.ceil(rate * warmup)
    i = 0
    while i < total:
        now = time.perf_counter()
        due = start + i / rate
        if due > now:
            await asyncio.sleep(due - now)
            now = time.perf_counter()
        while i < total and start + i / rate <= now:
            chat_id = chat_base + i
            record = Offered(chat_id, start + i / rate, i >= measured_from)
            update, record.kind = build_update(rng, mix, chat_base // 1000 + i, chat_id)
            body = json.dumps(update, ensure_ascii=False).encode()
            queues[i % len(ports)].put_nowait((record, body))
            offered.append(record)
            i += 1
    for queue in queues:
        for _ in range(per_port):
            queue.put_nowait(None)
    await asyncio.gather(*workers)
    return offered


# -- one step: N webs at one rate ----------------------------------------------------------------
def percentile(ordered: list[float], q: float) -> float:
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Step:
    webs: int
    rate: float
    duration: float
    result: dict[str, Any] = field(default_factory=dict)
    workers: int = 1


async def run_step(step: Step, args: argparse.Namespace, fake: FakeBotApi, template: str,
                   redis_url: str, logs: Path, index: int) -> dict[str, Any]:
    db_name = f"rumourbot_load_{uuid.uuid4().hex[:8]}"
    placement: Placement = getattr(args, "placement", None) or Placement()
    logs = logs / f"{index:02d}-{step.webs}web-{step.workers}worker-{step.rate:g}"
    logs.mkdir(parents=True, exist_ok=True)
    products: list[Product] = []
    helpers: list[asyncio.Task[Any]] = []  # cancelled if the step is interrupted
    profile_dir = None
    if args.profile:
        profile_dir = args.out.parent / "profiles" / f"{step.webs}web-{int(step.rate)}"
        profile_dir.mkdir(parents=True, exist_ok=True)
    try:
        database_url = await create_database(db_name, template, placement.pg_admin)
        await clear_redis(redis_url)
        await fake.drain()
        ports = [free_port() for _ in range(step.webs)]
        counts = logs / "counts"
        counts.mkdir(exist_ok=True)
        for n, port in enumerate(ports):
            env = product_env(fake.info, database_url, redis_url, port, ports[0], args.checkout,
                              counts)
            if getattr(args, "trace_memory", None):  # bot/runtime/memtrace.py: where it grows
                env["RUMOURBOT_MEMORY_TRACE_MINUTES"] = str(args.trace_memory)
                env["RUMOURBOT_MEMORY_TRACE_FILE"] = str(logs / f"web{n + 1}-memory-trace.txt")
            env.update(getattr(args, "product_env", {}))
            products.append(start_product("web", f"web{n + 1}", env, port, logs, profile_dir,
                                          placement, n % placement.hosts))
        for n in range(step.workers):
            worker_port = free_port()
            env = product_env(fake.info, database_url, redis_url, worker_port, ports[0],
                              args.checkout, counts)
            env.update(getattr(args, "product_env", {}))
            name = "worker" if step.workers == 1 else f"worker{n + 1}"
            products.append(start_product("worker", name, env, worker_port, logs, profile_dir,
                                          placement, n % placement.hosts))
        webs = [p for p in products if p.role == "web"]
        first_worker = next(p for p in products if p.role == "worker")
        await wait_ready(products)
        await asyncio.sleep(1.0)  # let start-up work (first index refreshes) settle

        sampler = Sampler(products, {"fake telegram": fake.pid, "load generator": os.getpid()},
                          db_name, counts, placement=placement)
        stop_sampling = asyncio.Event()
        sampling = asyncio.create_task(sampler.run(stop_sampling))
        helpers.append(sampling)
        sends: dict[int, float] = {}
        all_sends: list[float] = []
        seen: Counter[tuple[int, str]] = Counter()  # (chat, what was sent): twice is a duplicate

        async def collect() -> None:
            for chat_id, at, digest in await fake.drain():
                all_sends.append(at)
                sends.setdefault(chat_id, at)
                seen[(chat_id, digest)] += 1

        async def collect_forever(stop: asyncio.Event) -> None:
            while not stop.is_set():
                await collect()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

        stop_collecting = asyncio.Event()
        collecting = asyncio.create_task(collect_forever(stop_collecting))
        helpers.append(collecting)
        chat_base = 5_000_000_000 + index * 50_000_000
        print(f"  offering {step.rate:g}/s to {step.webs} web process(es) and "
              f"{step.workers} worker(s) for "
              f"{args.warmup:g}+{step.duration:g} s ...", flush=True)
        start = time.perf_counter() + 0.1
        window_start = start + math.ceil(step.rate * args.warmup) / step.rate
        window_end = window_start + step.duration
        marks = [asyncio.create_task(snapshot_at(sampler, at))
                 for at in (window_start, window_end)]
        backlog_task = asyncio.create_task(backlog_at(first_worker.port, window_end,
                                                      first_worker.host))
        helpers += [*marks, backlog_task]
        if profile_dir is not None:
            helpers.append(asyncio.create_task(profile_window(products, window_start,
                                                              step.duration)))
        offered = await generate(ports, step.rate, start, args.warmup, step.duration,
                                 args.seed + index, args.mix, chat_base,
                                 [p.host for p in webs])
        cpu_before, cpu_after = [await mark for mark in marks]
        if profile_dir is not None:  # py-spy writes its file when its duration is over
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(helpers[-1], 30)
        backlog = await backlog_task
        sent_end = time.perf_counter()
        measured = [o for o in offered if o.measured]
        accepted = [o for o in measured if o.status == 200]
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            await collect()
            if all(o.chat_id in sends for o in accepted):
                break
            await asyncio.sleep(0.5)
        stop_collecting.set()
        await collecting
        await collect()
        stop_sampling.set()
        await sampling
        sampler.sample()
        drained_at = time.perf_counter()
        twice = sorted({chat for (chat, _), n in seen.items() if n > 1})[:20]
        duplicate_rows = (await outbox_rows_of(db_name, twice, placement.pg_admin)
                          if twice else [])
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        stop_products(products)
        with contextlib.suppress(Exception):
            await drop_database(db_name, placement.pg_admin)

    latencies = sorted((sends[o.chat_id] - o.due) * 1000 for o in accepted if o.chat_id in sends)
    by_kind: dict[str, dict[str, float | int | None]] = {}
    for kind in sorted({o.kind for o in accepted}):
        of_kind = [o for o in accepted if o.kind == kind]
        times = sorted((sends[o.chat_id] - o.due) * 1000 for o in of_kind if o.chat_id in sends)
        by_kind[kind] = {"n": len(of_kind), "unanswered": len(of_kind) - len(times),
                         "p50": round(percentile(times, 50), 1) if times else None,
                         "p99": round(percentile(times, 99), 1) if times else None}
    missing = len(accepted) - len(latencies)
    statuses = Counter(o.status for o in measured)
    http_ms = sorted((o.answered_at - o.due) * 1000 for o in accepted)
    late_ms = sorted((o.posted_at - o.due) * 1000 for o in measured if o.posted_at)
    in_window = sum(1 for at in all_sends if window_start <= at < window_end)
    cpu = {k: round((cpu_after.get(k, 0.0) - cpu_before.get(k, 0.0)) / step.duration * 100, 1)
           for k in cpu_after if not k.startswith("_")}
    pg_before, pg_after = cpu_before.get("_postgres", {}), cpu_after["_postgres"]
    cpu["postgres (this database)"] = round(sum(
        v - pg_before.get(pid, 0.0) for pid, v in pg_after.items()) / step.duration * 100, 1)
    product_cpu = sum(v for k, v in cpu.items() if k not in ("fake telegram", "load generator"))
    counts_of = handled(cpu_before, cpu_after, in_window)
    product_ms = {p.name: round((cpu_after.get(p.name, 0.0) - cpu_before.get(p.name, 0.0))
                                * 1000 / max(1, counts_of.get(p.name, in_window)), 2)
                  for p in products}
    per_role = handled_by_role(counts_of or {p.name: in_window for p in products}, in_window)
    # one message's CPU: each role's processes' CPU over the messages that role handled
    product_ms_all = round(sum(
        (cpu_after.get(p.name, 0.0) - cpu_before.get(p.name, 0.0)) * 1000
        / max(1, per_role.get(role_of(p.name), in_window)) for p in products), 2)
    busy = ((cpu_after["_busy"] - cpu_before.get("_busy", 0.0))
            / max(1e-9, cpu_after["_total"] - cpu_before.get("_total", 0.0)) * 100)

    def lat(q: float) -> float | None:
        # a reply that never came counts as slower than every one that did
        if not accepted:
            return None
        rank = min(len(accepted) - 1, max(0, math.ceil(q / 100 * len(accepted)) - 1))
        return round(latencies[rank], 1) if rank < len(latencies) else None

    result: dict[str, Any] = {
        "webs": step.webs, "workers": step.workers, "rate_offered": step.rate,
        "duration_s": step.duration,
        "offered": len(measured), "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / step.duration, 1),
        # HTTP 200s that came back inside the window: what the web processes sustained (an
        # overloaded web answers late; the rest queue in front of it, as at Telegram)
        "accepted_per_s_in_window": round(sum(
            1 for o in offered if o.status == 200 and window_start <= o.answered_at < window_end)
            / step.duration, 1),
        "errors": len(measured) - len(accepted),
        "error_statuses": {str(k): v for k, v in statuses.items() if k != 200},
        "replies_per_s_in_window": round(in_window / step.duration, 1),
        "replies_total": len(all_sends),
        "unanswered_after_drain": missing,
        # the same message sent to the same resident more than once, counted at the fake
        "duplicate_replies": sum(n - 1 for n in seen.values() if n > 1),
        "duplicate_examples": [f"{n}x to {chat}: {what[:100]}" for (chat, what), n
                               in seen.most_common(5) if n > 1],
        # their outbox rows: two rows = the message was answered twice; one row sent twice =
        # delivery repeated it
        "duplicate_outbox_rows": duplicate_rows,
        "residents_answered": len(sends),
        "drain_s": round(drained_at - sent_end, 1),
        "latency_ms": {"p50": lat(50), "p90": lat(90), "p99": lat(99),
                       "max": round(latencies[-1], 1) if latencies and not missing else None,
                       "max_answered": round(latencies[-1], 1) if latencies else None},
        "latency_ms_by_kind": by_kind,
        "webhook_http_ms": {"p50": round(percentile(http_ms, 50), 1),
                            "p99": round(percentile(http_ms, 99), 1),
                            "max": round(http_ms[-1], 1)} if http_ms else {},
        # due time -> written to a connection: the generator's own lag plus waiting for one of
        # the 40 connections (a web process slow to answer makes updates queue, as at Telegram)
        # where unfinished work waited when the window closed (the product's /metrics)
        "backlog_at_window_end": backlog,
        "posting_delay_ms": {"p50": round(percentile(late_ms, 50), 1),
                             "p99": round(percentile(late_ms, 99), 1)} if late_ms else {},
        "memory": {process: memory_summary(points, window_start, window_end, drained_at)
                   for process, points in sampler.samples.items()},
        "cpu_percent_of_one_core": cpu,
        # product processes + their PostgreSQL backends + Redis, per reply sent in the window:
        # robust to a noisy neighbour, unlike latency
        "cpu_ms_per_reply": round(product_cpu * 10 / max(1e-9, in_window / step.duration), 2)
        if in_window else None,
        # SQL statements, transactions, round trips and Redis commands per reply sent
        "per_reply": per_reply(cpu_before, cpu_after, in_window),
        # our own processes only (web + worker, what the targets count), ms per reply
        # (each process's CPU divided by the messages it handled, see `handled`; "all" adds
        # them up: the CPU one answered message costs)
        "product_cpu_ms_per_reply": product_ms | {"all": product_ms_all},
        # open descriptors, sockets, asyncio tasks per process and the database's PostgreSQL
        # connections: start, end, max and slope over the measured window
        "resources": {process: {what: resource_summary(points, window_start, window_end)
                                for what, points in series.items()}
                      for process, series in sampler.resources.items()},
        "uptime": uptime(),
        "machine_busy_percent": round(busy, 1),
        # CPU used on this host by processes that are not part of this benchmark
        "others_cpu_percent_of_one_core": round(
            max(0.0, busy * (os.cpu_count() or 1) - sum(cpu.values())), 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    result["meets_slo"] = bool(
        accepted and not missing and result["errors"] == 0
        and result["latency_ms"]["p99"] is not None and result["latency_ms"]["p99"] < SLO_P99_MS
        and result["accepted_per_s_in_window"] >= 0.98 * step.rate)
    result["log_problems"] = {p.name: log_problems(p.log) for p in products}
    if profile_dir is not None:
        result["profiles"] = {p.name: str(p.profile) for p in products if p.profile}
        for product in products:
            if product.profile is not None and product.profile.exists():
                print(f"  profile {product.name}: {product.profile}")
                print(summarise(product.profile, ms=product_ms.get(product.name), top=15))
    return result


def log_problems(path: Path) -> dict[str, Any]:
    """How many WARNING / ERROR lines a process logged, and the most frequent messages."""
    counts: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        found = re.search(r" (WARNING|ERROR|CRITICAL) (\S+): (.*)", line)
        if found:
            counts[found.group(1)] += 1
            messages[re.sub(r"\d+", "N", found.group(3))[:120]] += 1
    return dict(counts) | {"top": [f"{n}x {m}" for m, n in messages.most_common(3)]}


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:g}{unit}" if isinstance(value, float | int) else str(value)


def step_line(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    mem = "  ".join(f"{n} {m.get('start_mb', 0):.0f}->{m.get('end_mb', 0):.0f} MB "
                    f"({m.get('slope_mb_per_min', 0):+.1f}/min)" for n, m in r["memory"].items())
    p99 = fmt(lat["p99"]) if lat["p99"] is not None else f">{r['drain_s']:g}s"
    return (f"webs={r['webs']} workers={r.get('workers', 1)} offered "
            f"{r['rate_offered']:g}/s: accepted "
            f"{r['accepted_per_s_in_window']:g}/s in the window ({r['accepted']} of "
            f"{r['offered']} eventually)"
            f" errors {r['errors']}  replies {r['replies_per_s_in_window']:g}/s  latency p50 "
            f"{fmt(lat['p50'])} p99 {p99} max {fmt(lat['max'])} ms  unanswered "
            f"{r['unanswered_after_drain']}  duplicates {r.get('duplicate_replies', '-')}"
            + (" (by kind: " + ", ".join(
                f"{k} n={v['n']} p50 {fmt(v['p50'])} p99 {fmt(v['p99'])}"
                for k, v in r.get("latency_ms_by_kind", {}).items()) + ")"
               if r.get("latency_ms_by_kind") else "")
            +
            f"  busy {r['machine_busy_percent']:g}% (others "
            f"{r['others_cpu_percent_of_one_core']:g}% of a core)  "
            f"{'OK' if r['meets_slo'] else 'over'}  backlog {r.get('backlog_at_window_end')}"
            f"\n      {mem}\n      cpu % of a core: "
            + ", ".join(f"{k} {v:g}" for k, v in r["cpu_percent_of_one_core"].items())
            + f"; {fmt(r['cpu_ms_per_reply'])} ms of CPU per reply with PostgreSQL and Redis"
            + "\n      our processes' CPU ms per reply: " + ", ".join(
                f"{k} {v:g}" for k, v in r.get("product_cpu_ms_per_reply", {}).items())
            + "".join(f"\n      per reply, {k}: " + ", ".join(f"{n} {v:g}" for n, v in c.items())
                      for k, c in r.get("per_reply", {}).items() if k != "statements")
            + "".join(f"\n      {n}: " + ", ".join(
                f"{w} {v.get('start', 0):g}->{v.get('end', 0):g} ({v.get('slope_per_10min', 0):+g}"
                "/10 min)" for w, v in res.items())
                for n, res in r.get("resources", {}).items())
            + f"\n      {r.get('uptime', '')}"
            + "".join(f"\n      {n} logged {p}" for n, p in r.get("log_problems", {}).items()
                      if len(p) > 1))


# -- the whole run --------------------------------------------------------------------------------
async def prepare_template(fake: FakeBotApi, redis_url: str, logs: Path,
                           checkout: Path | None, admin: str = PG_ADMIN) -> str:
    """A migrated database with the demo knowledge base imported and its vectors stored, through
    the CLI; each step copies it."""
    name = f"rumourbot_load_tpl_{uuid.uuid4().hex[:8]}"
    url = await create_database(name, admin=admin)
    env = product_env(fake.info, url, redis_url, free_port(), free_port(), checkout)
    demo = REPO / "bot" / "runtime" / "demo" / "knowledge.jsonl"
    for command in (["migrate"], ["import", str(demo), "--origin", "demo"],
                    ["check", "Tap water in the city has been poisoned"]):  # stores the vectors
        with (logs / "template.log").open("ab") as out:
            code = await asyncio.to_thread(
                subprocess.call, [str(VENV_BIN / "rumourbot"), *command], env=env,  # noqa: S603
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        if code != 0:
            raise RuntimeError(f"rumourbot {command[0]} failed; see {logs / 'template.log'}")
    return name


def write_report(args: argparse.Namespace, steps: list[dict[str, Any]]) -> dict[str, Any]:
    best: dict[str, Any] = {}
    for webs in args.webs:
        ok = [s["rate_offered"] for s in steps if s["webs"] == webs and s["meets_slo"]]
        best[str(webs)] = max(ok) if ok else None
    report = {
        "what": "Telegram webhook updates POSTed open-loop at a fixed rate (round robin over the "
                "web processes, <= 40 in flight) -> the reply's sendMessage recorded by the fake "
                "Bot API; one message per resident; latency from the update's due time",
        "slo": f"p99 < {SLO_P99_MS:g} ms, no errors, no reply missing, accepted >= 98% offered",
        "best_rate_meeting_slo": best,
        "telegram_messages_per_second_setting": TELEGRAM_RATE,
        "telegram_note": "RUMOURBOT_TELEGRAM_MESSAGES_PER_SECOND raised to 2000 for this run: "
                         "Telegram's default is about 30 messages/s per bot, up to 1000/s with "
                         "paid broadcasts; answering hundreds of residents a second needs that",
        "mix": vars(args.mix) | {"greetings_and_commands": round(
            1 - args.mix.viral - args.mix.photo - args.mix.new_claim, 3)},
        "warmup_s": args.warmup, "drain_s": args.drain,
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "machine": platform.machine(), "database": "postgresql", "redis": args.redis_url,
        "steps": steps,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Load: Telegram webhooks -> replies (scripts/bench_load.py)", "",
        report["what"] + ".", "",
        f"SLO: {report['slo']}. Best rate meeting it: "
        + ", ".join(f"{w} web: {fmt(r, '/s')}" for w, r in report["best_rate_meeting_slo"].items())
        + ".", "",
        report["telegram_note"] + ".", "",
        "| webs | offered/s | accepted/s | errors | replies/s | p50 ms | p99 ms | max ms "
        "| unanswered | memory start -> end MB (slope MB/min) | CPU ms per reply "
        "| machine busy (others) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["steps"]:
        lat = s["latency_ms"]
        mem = "; ".join(f"{n} {m.get('start_mb', 0):.0f}->{m.get('end_mb', 0):.0f} "
                        f"({m.get('slope_mb_per_min', 0):+.1f})" for n, m in s["memory"].items())
        p99 = fmt(lat["p99"]) if lat["p99"] is not None else f"> {s['drain_s']:g} s"
        accepted = s.get("accepted_per_s_in_window", s["accepted_per_s"])
        lines.append(f"| {s['webs']} | {s['rate_offered']:g} | {accepted:g} | "
                     f"{s['errors']} | {s['replies_per_s_in_window']:g} | {fmt(lat['p50'])} | "
                     f"{p99} | {fmt(lat['max'])} | {s['unanswered_after_drain']} | {mem} | "
                     f"{fmt(s.get('cpu_ms_per_reply'))} | {s['machine_busy_percent']:g}% "
                     f"({s.get('others_cpu_percent_of_one_core', '-')}% of a core) |")
    lines += ["", f"{report['cpus']} CPUs, Python {report['python']}, PostgreSQL, Redis; mix: "
              + ", ".join(f"{k} {v:g}" for k, v in report["mix"].items()) + ".", ""]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webs", default="1,2", help="web process counts, e.g. 1,2")
    parser.add_argument("--rates", default="100,200,300,500",
                        help="updates per second offered, e.g. 100,300")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per step")
    parser.add_argument("--soak", action="store_true", help="measure 600 s per step")
    parser.add_argument("--minutes", type=float,
                        help="measure this many minutes per step (a memory soak: RSS slope per "
                             "process is in the report)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds offered before measuring")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="seconds to wait for outstanding replies after the last update")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--viral", type=float, default=Mix.viral, help="share of viral forwards")
    parser.add_argument("--photo", type=float, default=Mix.photo, help="share of photo captions")
    parser.add_argument("--new-claims", type=float, default=Mix.new_claim,
                        help="share of claims never seen before")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11",
                        help="a Redis database for this run (its rumourbot:* keys are deleted)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy on every product process during the measured window "
                             "(bench/profiles/; summary per message printed)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "load.json")
    parser.add_argument("--checkout", type=Path,
                        help="run the product from this source tree (to compare two versions)")
    parser.add_argument("--stop-over-slo", action="store_true",
                        help="skip higher rates once a rate misses the SLO")
    parser.add_argument("--trace-memory", type=float, metavar="MINUTES",
                        help="web processes report where their memory grew every MINUTES "
                             "(tracemalloc; costs CPU) into the step's log directory")
    parser.add_argument("--product-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the product processes, e.g. "
                             "MALLOC_ARENA_MAX=2 (repeatable)")
    args = parser.parse_args()
    args.product_env = dict(item.split("=", 1) for item in args.product_env)
    args.webs = [int(w) for w in args.webs.split(",")]
    args.rates = [float(r) for r in args.rates.split(",")]
    if args.soak:
        args.duration = 600.0
    if args.minutes:
        args.duration = args.minutes * 60.0
    args.mix = Mix(args.viral, args.photo, args.new_claims)
    if args.profile and shutil.which("py-spy", path=str(VENV_BIN)) is None:
        parser.error("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")
    return args


async def main() -> None:
    args = parse_args()
    cancel_on_signals()  # clean up (processes, database) on Ctrl-C
    logs = Path(tempfile.mkdtemp(prefix="bench-load-logs-"))  # kept: the processes' output
    fake = FakeBotApi().start()
    template: str | None = None
    steps: list[dict[str, Any]] = []
    try:
        print(f"fake Telegram Bot API on {fake.info['api_url']} (pid {fake.pid}); "
              f"RUMOURBOT_TELEGRAM_MESSAGES_PER_SECOND={TELEGRAM_RATE} (Telegram: ~30/s "
              "by default, up to 1000/s with paid broadcasts)", flush=True)
        template = await prepare_template(fake, args.redis_url, logs, args.checkout)
        index = 0
        for webs in args.webs:
            for rate in args.rates:
                step = Step(webs, rate, args.duration)
                try:
                    result = await run_step(step, args, fake, template, args.redis_url,
                                            logs, index)
                except RuntimeError as exc:
                    print(f"  step failed: {exc}", flush=True)
                    raise
                index += 1
                steps.append(result)
                print("  " + step_line(result), flush=True)
                write_report(args, steps)
                if args.stop_over_slo and not result["meets_slo"]:
                    break
    except asyncio.CancelledError:
        print("interrupted: stopping processes and dropping the database", flush=True)
    finally:
        fake.stop()
        if template is not None:
            with contextlib.suppress(Exception):
                await drop_database(template)
        with contextlib.suppress(Exception):
            await clear_redis(args.redis_url)
    if steps:
        report = write_report(args, steps)
        print(f"best rate with p99 < {SLO_P99_MS:g} ms: {report['best_rate_meeting_slo']}")
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}; process logs in {logs}")


if __name__ == "__main__":
    asyncio.run(main())
