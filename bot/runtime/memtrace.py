"""An opt-in memory diagnostic: where a long-running process's memory grows.

Off by default. With RUMOURBOT_MEMORY_TRACE_MINUTES > 0 the process starts `tracemalloc` and,
every that many minutes, appends one report to RUMOURBOT_MEMORY_TRACE_FILE: its RSS, what the
Python allocator traces, glibc's heap (in use / free, so fragmentation shows), the object
types whose counts grew and the allocation sites that grew most since the first report (the
baseline, taken after one interval: warm-up). Nothing is served over HTTP; the file names
source lines and type names, never message contents. Tracing costs CPU: turn it on for a
diagnosis, not in production.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import logging
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.runtime.allocator import glibc
from bot.runtime.periodic import repeating

log = logging.getLogger(__name__)
TOP_SITES = 25
TOP_TRACEBACKS = 8
TOP_TYPES = 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [  # noqa: RUF012 - ctypes' own declaration
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set size (Linux; `RssAnon`: its anonymous part, what
    allocators hold; `RssFile`: mapped files, such as a model's weights read page by page);
    0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def heap_mb() -> tuple[float, float] | None:
    """glibc's heap: (in use, free but kept) in MB, or None without glibc's mallinfo2."""
    libc = glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    used = info.uordblks + info.hblkhd
    return used / 2**20, info.fordblks / 2**20


def type_counts() -> collections.Counter[str]:
    """Live objects tracked by the garbage collector, by type name."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


@dataclass
class MemoryTrace:
    """Reports growth since the baseline; `report()` appends one block of text to `path`."""

    path: Path
    frames: int = 6
    started: float = field(default_factory=time.monotonic)
    baseline: tracemalloc.Snapshot | None = None
    baseline_types: collections.Counter[str] = field(default_factory=collections.Counter)
    baseline_rss: float = 0.0
    baseline_traced: float = 0.0

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)

    def _snapshot(self) -> tracemalloc.Snapshot:
        snapshot = tracemalloc.take_snapshot()
        return snapshot.filter_traces(
            (
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, __file__),
            )
        )

    def report(self) -> str:
        # the process as it was, before this report's own snapshot allocates
        rss, anonymous, files, heap = rss_mb(), rss_mb("RssAnon"), rss_mb("RssFile"), heap_mb()
        traced = tracemalloc.get_traced_memory()[0] / 2**20
        snapshot = self._snapshot()
        types = type_counts()
        minutes = (time.monotonic() - self.started) / 60
        lines = [
            f"== {time.strftime('%Y-%m-%dT%H:%M:%S')} after {minutes:.1f} min: "
            f"RSS {rss:.1f} MB (anonymous {anonymous:.1f}, mapped files {files:.1f}), "
            f"traced by tracemalloc {traced:.1f} MB"
            + (f", glibc heap in use {heap[0]:.1f} MB, free {heap[1]:.1f} MB" if heap else "")
        ]
        if self.baseline is None:
            self.baseline, self.baseline_types = snapshot, types
            self.baseline_rss, self.baseline_traced = rss, traced
            lines.append("baseline taken; the next reports give growth since here")
        else:
            lines.append(
                f"since baseline: RSS {rss - self.baseline_rss:+.1f} MB, "
                f"traced {traced - self.baseline_traced:+.1f} MB"
            )
            lines.append("-- object types, count growth")
            grown = types.copy()
            grown.subtract(self.baseline_types)
            for name, delta in grown.most_common(TOP_TYPES):
                if delta > 0:
                    lines.append(f"{delta:+9d}  {name} (now {types[name]})")
            lines.append("-- allocation sites (line), growth")
            for stat in snapshot.compare_to(self.baseline, "lineno")[:TOP_SITES]:
                lines.append(
                    f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  "
                    f"{stat.traceback[0]}"
                )
            lines.append("-- allocation tracebacks, growth")
            for stat in snapshot.compare_to(self.baseline, "traceback")[:TOP_TRACEBACKS]:
                lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks")
                lines += [f"      {frame}" for frame in stat.traceback]
        text = "\n".join(lines) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)
        return text


@contextlib.asynccontextmanager
async def memory_trace(minutes: float, path: str, frames: int) -> AsyncIterator[None]:
    """Report every `minutes` while the block runs; nothing at all when `minutes` is 0."""
    if minutes <= 0:
        yield
        return
    trace = MemoryTrace(Path(path), frames)
    trace.start()
    log.warning("memory trace on: a report every %g min in %s (costs CPU)", minutes, path)
    try:
        async with repeating(minutes * 60, trace.report):
            yield
    finally:
        tracemalloc.stop()
