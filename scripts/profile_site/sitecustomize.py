"""Counts a benchmarked process's database and Redis work (loaded through PYTHONPATH).

`scripts/bench_load.py` and `scripts/bench_broadcast.py` put this directory first on the
product processes' PYTHONPATH with BENCH_COUNTS_DIR set to a directory: every SQL
statement, transaction (BEGIN / COMMIT / ROLLBACK, autocommit statements apart) and Redis
command of the process is counted, and a thread writes the totals to `<dir>/<pid>.json`
twice a second. The benchmark reads them at the start and end of its measured window and
divides by the replies sent, like CPU time: counts, unlike latency, do not depend on how busy
the machine is. Nothing here runs without the variable.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

_DIR = os.environ.get("BENCH_COUNTS_DIR")


def _install(directory: Path) -> None:
    counts: dict[str, int] = {"statements": 0, "executemany": 0, "begin": 0, "commit": 0,
                              "rollback": 0, "autocommit_statements": 0, "redis_commands": 0}
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def autocommit(conn: Any) -> bool:
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, _sql: Any, _params: Any, _context: Any,
                   many: bool) -> None:
        counts["statements"] += 1
        key = "sql: " + " ".join(str(_sql).split())[:90]
        counts[key] = counts.get(key, 0) + 1
        if many:
            counts["executemany"] += 1
        if autocommit(conn):
            counts["autocommit_statements"] += 1

    @event.listens_for(Engine, "begin")
    def _begin(conn: Any) -> None:
        if not autocommit(conn):
            counts["begin"] += 1

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        if not autocommit(conn):
            counts["commit"] += 1

    @event.listens_for(Engine, "rollback")
    def _rollback(conn: Any) -> None:
        if not autocommit(conn):
            counts["rollback"] += 1

    try:
        from redis.asyncio.client import Pipeline, Redis

        command = Redis.execute_command

        async def execute_command(self: Any, *args: Any, **options: Any) -> Any:
            counts["redis_commands"] += 1
            return await command(self, *args, **options)

        Redis.execute_command = execute_command  # type: ignore[method-assign]
        pipeline = Pipeline.execute

        async def execute(self: Any, *args: Any, **options: Any) -> Any:
            counts["redis_commands"] += 1  # one round trip for the whole pipeline
            return await pipeline(self, *args, **options)

        Pipeline.execute = execute  # type: ignore[method-assign]
    except ImportError:
        pass

    target = directory / f"{os.getpid()}.json"

    def write() -> None:
        while True:
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(dict(counts)))
            tmp.replace(target)
            time.sleep(0.5)

    threading.Thread(target=write, name="bench-counts", daemon=True).start()


if _DIR:
    try:
        _install(Path(_DIR))
    except Exception as exc:  # never break the process being measured
        print(f"bench counters not installed: {exc!r}", flush=True)
