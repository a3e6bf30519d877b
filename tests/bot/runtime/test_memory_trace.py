"""The opt-in memory diagnostic: off by default; on, its file names where memory grew."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

from bot.runtime.memtrace import MemoryTrace, memory_trace
from domain.settings import Settings


class Retained:
    """Objects a leaking process would keep."""


def test_the_trace_is_off_unless_an_operator_turns_it_on() -> None:
    assert Settings(_env_file=None).memory_trace_minutes == 0  # type: ignore[call-arg]


async def test_off_it_neither_traces_nor_writes(tmp_path: Path) -> None:
    report = tmp_path / "trace.txt"
    async with memory_trace(0, str(report), 5):
        assert not tracemalloc.is_tracing()
    assert not report.exists()


def test_a_report_names_the_line_and_the_type_that_grew(tmp_path: Path) -> None:
    report = tmp_path / "trace.txt"
    trace = MemoryTrace(report, frames=3)
    trace.start()
    try:
        trace.report()  # the baseline
        kept = [Retained() for _ in range(20_000)]  # the line the report must name
        text = trace.report()
    finally:
        tracemalloc.stop()
    assert len(kept) == 20_000
    assert "baseline taken" in report.read_text()
    assert "since baseline: RSS" in text
    assert re.search(r"anonymous [0-9.]+, mapped files [1-9][0-9.]*\)", text)  # the two apart
    sites = text.split("-- allocation sites (line), growth")[1]
    first_site = sites.strip().splitlines()[0]
    assert "test_memory_trace.py" in first_site
    types = text.split("-- object types, count growth")[1].split("--")[0]
    assert "Retained" in types
