"""Scale-out: 1 web + 1 worker against 2 webs + 2 workers, each pair on a test host of its own.

The test hosts are network namespaces made here (`ip netns add`, needs root), each joined by a
veth pair to a bridge on this host (10.213.0.1/24; host N is 10.213.0.1N). Web N and worker N
run on host N through `ip netns exec`, so every database, Redis and Bot API call of theirs
crosses a network interface, as on separate machines. The namespaces, veths and the bridge are
removed at the end, also on failure and Ctrl-C; ones left by a killed run (SIGKILL) are
removed when the next run starts.

Why a PostgreSQL and a Redis of its own: the machine's are bound to 127.0.0.1, which a
namespace cannot reach, and other people's tests use them (they are not reconfigured). A relay
on the host would forward them, but it would add a Python hop to each of a message's dozen or so
database round trips and its own CPU to the figures. So this starts one PostgreSQL cluster
(`initdb` into a temporary directory, a few seconds, the same settings that matter as the
shared one: PostgreSQL 15, fsync and synchronous_commit on, shared_buffers 128MB) and one
`redis-server` (no persistence), both listening on the bridge address only, and removes both at
the end. The fake Bot API (bench_load.py's, bound to the bridge address) and the load
generator stay on this host; the generator posts to each web process's own address.

Everything else is bench_load.py's step: fresh processes and a fresh database per (processes,
rate), open-loop traffic, latency from the due time to the fake recording the send, CPU of
every process, SQL statements and PostgreSQL transactions per message, and the duplicates:
the same message sent twice to one resident, counted at the fake.

    sudo .venv/bin/python scripts/bench_scaleout.py --rates 80,160,240,320 --duration 30

Writes bench/scaleout.json and bench/scaleout.md (`--out`), including the sizing figures that
docs/deploy.md quotes (messages/s per core, PostgreSQL work per message, memory per process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import bench_load as load  # noqa: E402 - beside this script
from benchlib import cancel_on_signals  # noqa: E402 - beside this script

from tests.faults.processes import RedisServer, free_port  # noqa: E402

BRIDGE = "rb-scale0"
BRIDGE_ADDRESS = "10.213.0.1"
NAMESPACE_PREFIX = "rb-scale-host"
VETH_PREFIX = "rb-scale-v"
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1:] or [Path("/usr/bin")]
# a pair is "saturated" when it sends fewer replies than this share of the offered rate
SATURATED_BELOW = 0.95


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, capture_output=True, text=True)  # noqa: S603


# -- test hosts ----------------------------------------------------------------------------------
def namespace(slot: int) -> str:
    return f"{NAMESPACE_PREFIX}{slot + 1}"


def host_address(slot: int) -> str:
    return f"10.213.0.{11 + slot}"


def remove_network(hosts: int = 8) -> None:
    """Delete the namespaces and the bridge (deleting a namespace deletes its veth pair)."""
    present = run("ip", "netns", "list", check=False).stdout
    for slot in range(hosts):
        if namespace(slot) in present:
            run("ip", "netns", "del", namespace(slot), check=False)
        run("ip", "link", "del", f"{VETH_PREFIX}{slot + 1}", check=False)
    run("ip", "link", "del", BRIDGE, check=False)


def make_network(hosts: int) -> None:
    remove_network()  # what a killed run left
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for slot in range(hosts):
        name, veth = namespace(slot), f"{VETH_PREFIX}{slot + 1}"
        run("ip", "netns", "add", name)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        run("ip", "link", "set", veth, "master", BRIDGE, "up")
        run("ip", "-n", name, "addr", "add", f"{host_address(slot)}/24", "dev", "eth0")
        run("ip", "-n", name, "link", "set", "eth0", "up")
        run("ip", "-n", name, "link", "set", "lo", "up")


@dataclass
class NamespacePlacement(load.Placement):
    """Web N and worker N on test host N; services on the bridge address."""

    def command_prefix(self, slot: int) -> list[str]:
        return ["ip", "netns", "exec", namespace(slot)]

    def address(self, slot: int) -> str:
        return host_address(slot)

    def adapt_env(self, env: dict[str, str], slot: int) -> dict[str, str]:
        return env | {"RUMOURBOT_HOST": host_address(slot)}


# -- the private PostgreSQL (its Redis: tests/faults/processes.py RedisServer, on the bridge) --
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, listening on the bridge address."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-scaleout-pg-"))
        shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.port = free_port(BRIDGE_ADDRESS)
        self.started = False

    @property
    def admin(self) -> str:
        return f"postgresql://postgres@{BRIDGE_ADDRESS}:{self.port}/postgres"

    def _as_postgres(self, tool: str, *arguments: str) -> None:
        run("runuser", "-u", "postgres", "--", str(PG_BIN[0] / tool), *arguments)

    def start(self) -> PrivatePostgres:
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--no-sync")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {BRIDGE_ADDRESS}/24 trust\n")
        options = (f"-c listen_addresses={BRIDGE_ADDRESS} -p {self.port} "
                   f"-c unix_socket_directories={self.root} -c max_connections=200 "
                   "-c shared_buffers=128MB -c fsync=on -c synchronous_commit=on")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                          "-o", options, "start")
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


# -- figures -----------------------------------------------------------------------------------
def saturated(step: dict[str, Any]) -> bool:
    return bool(step["replies_per_s_in_window"] < SATURATED_BELOW * step["rate_offered"]
                or step["unanswered_after_drain"] or step["errors"])


def sizing(step: dict[str, Any]) -> dict[str, Any]:
    """What one message costs, from a step below saturation: for docs/deploy.md."""
    replies = step["replies_per_s_in_window"]
    cpu = step["cpu_percent_of_one_core"]
    ours_ms = step["product_cpu_ms_per_reply"]["all"]
    pg_ms = cpu.get("postgres (this database)", 0.0) * 10 / max(1e-9, replies)
    redis_ms = cpu.get("redis", 0.0) * 10 / max(1e-9, replies)
    per = step.get("per_reply", {})
    return {
        "rate": step["rate_offered"],
        "our_cpu_ms_per_message": ours_ms,
        "messages_per_s_per_core_ours": round(1000 / ours_ms, 1) if ours_ms else None,
        "postgres_cpu_ms_per_message": round(pg_ms, 2),
        "redis_cpu_ms_per_message": round(redis_ms, 2),
        "messages_per_s_per_core_with_postgres_and_redis": round(
            1000 / (ours_ms + pg_ms + redis_ms), 1) if ours_ms else None,
        "postgres_transactions_per_message": per.get("postgres", {}).get("transactions"),
        "postgres_rows_inserted_updated_per_message": round(
            per.get("postgres", {}).get("tup_inserted", 0)
            + per.get("postgres", {}).get("tup_updated", 0), 2),
        "sql_statements_per_message": per.get("all", {}).get("statements"),
        "db_round_trips_per_message": per.get("all", {}).get("db_round_trips"),
        "redis_commands_per_message": per.get("all", {}).get("redis_commands"),
        "rss_mb_end": {n: m.get("end_mb") for n, m in step["memory"].items()},
        "postgres_connections_max": step.get("resources", {}).get("postgres", {}).get(
            "connections", {}).get("max"),
    }


def summarise(steps: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in sorted({(s["webs"], s["workers"]) for s in steps}):
        mine = [s for s in steps if (s["webs"], s["workers"]) == pair]
        held = [s for s in mine if not saturated(s)]
        under = max(held, key=lambda s: s["rate_offered"]) if held else None
        out[f"{pair[0]} web + {pair[1]} worker"] = {
            "highest_rate_held": under["rate_offered"] if under else None,
            "highest_rate_meeting_slo": max(
                (s["rate_offered"] for s in mine if s["meets_slo"]), default=None),
            "most_replies_per_s": max(s["replies_per_s_in_window"] for s in mine),
            "duplicates": sum(s["duplicate_replies"] for s in mine),
            "unanswered": sum(s["unanswered_after_drain"] for s in mine),
            "sizing": sizing(under) if under else None,
        }
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Scale-out: web/worker pairs on their own test hosts (scripts/bench_scaleout.py)",
             "", report["what"], "",
             "| processes | offered/s | replies/s | p50 ms | p99 ms | unanswered | duplicates "
             "| CPU % of a core per process | machine busy | load 1m |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in report["steps"]:
        lat = s["latency_ms"]
        cpu = ", ".join(f"{k} {v:g}" for k, v in s["cpu_percent_of_one_core"].items())
        p99 = load.fmt(lat["p99"]) if lat["p99"] is not None else f"> {s['drain_s']:g} s"
        lines.append(f"| {s['webs']} web + {s['workers']} worker | {s['rate_offered']:g} | "
                     f"{s['replies_per_s_in_window']:g} | {load.fmt(lat['p50'])} | {p99} | "
                     f"{s['unanswered_after_drain']} | {s['duplicate_replies']} | {cpu} | "
                     f"{s['machine_busy_percent']:g}% | {s['load_average_1m']:g} |")
    lines += ["", "| processes | highest rate held | most replies/s | our CPU ms/message "
              "| messages/s per core (ours; with PostgreSQL + Redis) | PostgreSQL transactions "
              "/ statements per message |", "|---|---|---|---|---|---|"]
    for pair, s in report["summary"].items():
        size = s["sizing"] or {}
        lines.append(
            f"| {pair} | {load.fmt(s['highest_rate_held'])} | {s['most_replies_per_s']:g} | "
            f"{load.fmt(size.get('our_cpu_ms_per_message'))} | "
            f"{load.fmt(size.get('messages_per_s_per_core_ours'))}; "
            f"{load.fmt(size.get('messages_per_s_per_core_with_postgres_and_redis'))} | "
            f"{load.fmt(size.get('postgres_transactions_per_message'))} / "
            f"{load.fmt(size.get('sql_statements_per_message'))} |")
    lines += ["", f"{report['cpus']} CPUs shared with the rest of the machine; "
              f"{report['postgres']}; Redis {report['redis']}.", ""]
    return "\n".join(lines)


def write(args: argparse.Namespace, steps: list[dict[str, Any]]) -> dict[str, Any]:
    report = {
        "what": "Telegram updates POSTed open-loop (round robin over the web processes) to web "
                "processes on their own network namespaces; replies recorded by the fake Bot "
                "API on this host; one private PostgreSQL and one Redis on the bridge. Held = "
                f"replies >= {SATURATED_BELOW:.0%} of offered, none missing, no errors.",
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "postgres": f"PostgreSQL ({PG_BIN[0].parent.name}) private cluster",
        "redis": "private redis-server", "warmup_s": args.warmup, "steps": steps,
        "summary": summarise(steps),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    return report


# -- the run -------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default="1,2", help="web/worker pairs per step, e.g. 1,2")
    parser.add_argument("--rates", default="80,160,240,320", help="updates per second offered")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep-going", action="store_true",
                        help="offer higher rates after a pair saturated")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "scaleout.json")
    args = parser.parse_args()
    args.pairs = [int(p) for p in args.pairs.split(",")]
    args.rates = [float(r) for r in args.rates.split(",")]
    args.mix = load.Mix()
    args.checkout = None
    args.profile = False
    if os.geteuid() != 0:
        parser.error("network namespaces need root")
    return args


async def main() -> None:
    args = parse_args()
    cancel_on_signals()  # the finally below cleans up
    logs = Path(tempfile.mkdtemp(prefix="bench-scaleout-logs-"))
    steps: list[dict[str, Any]] = []
    postgres: PrivatePostgres | None = None
    redis: RedisServer | None = None
    fake: load.FakeBotApi | None = None
    try:
        make_network(max(args.pairs))
        postgres = PrivatePostgres().start()
        redis = RedisServer(logs, BRIDGE_ADDRESS).start()
        args.placement = NamespacePlacement(pg_admin=postgres.admin, redis_port=redis.port,
                                            hosts=max(args.pairs))
        fake = load.FakeBotApi(bind=BRIDGE_ADDRESS).start()
        fake.info = {k: v.replace("127.0.0.1", BRIDGE_ADDRESS) if isinstance(v, str) else v
                     for k, v in fake.info.items()}
        print(f"test hosts {[namespace(s) for s in range(max(args.pairs))]} on {BRIDGE}; "
              f"PostgreSQL {postgres.admin}; Redis {redis.url}; fake Bot API "
              f"{fake.info['api_url']}", flush=True)
        template = await load.prepare_template(fake, redis.url, logs, None, postgres.admin)
        index = 0
        for pairs in args.pairs:
            for rate in args.rates:
                step = load.Step(pairs, rate, args.duration, workers=pairs)
                result = await load.run_step(step, args, fake, template, redis.url, logs, index)
                index += 1
                steps.append(result)
                print("  " + load.step_line(result), flush=True)
                write(args, steps)
                if saturated(result) and not args.keep_going:
                    break
    except asyncio.CancelledError:
        print("interrupted: stopping processes, removing the test hosts", flush=True)
    finally:
        if fake is not None:
            fake.stop()
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
        remove_network()
        left = [n for n in run("ip", "netns", "list", check=False).stdout.split()
                if n.startswith(NAMESPACE_PREFIX)]
        print(f"test hosts removed (left: {left or 'none'}); process logs in {logs}", flush=True)
    if steps:
        report = write(args, steps)
        print(json.dumps(report["summary"], indent=2))
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    asyncio.run(main())
