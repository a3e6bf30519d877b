"""glibc's allocator in a long-running process: free memory goes back to the system, and the
arena cap is the operator's to change (bot/runtime/allocator.py)."""

from __future__ import annotations

import pytest

from bot.runtime.allocator import DEFAULT_ARENAS, limit_arenas, trim
from bot.runtime.memtrace import rss_mb

pytestmark = pytest.mark.skipif(not rss_mb(), reason="needs Linux's /proc for RSS")


def test_memory_freed_between_live_blocks_goes_back_to_the_system() -> None:
    # a day of turns: blocks allocated, most freed, a few kept alive among them (as caches
    # and long-lived objects are), so glibc cannot shrink its heap by itself
    blocks = [bytes(1024) + bytes([n % 256]) for n in range(120_000)]
    kept = blocks[::16]
    del blocks
    held = rss_mb("RssAnon")
    assert trim()
    given_back = held - rss_mb("RssAnon")
    assert given_back > 50, f"only {given_back:.1f} MB of about 110 MB freed went back"
    assert len(kept) == 7_500


def test_the_arena_cap_is_the_operators_choice() -> None:
    assert limit_arenas({}) is None  # by default glibc chooses
    assert DEFAULT_ARENAS == 0
    assert limit_arenas({"RUMOURBOT_MALLOC_ARENAS": "0"}) is None
    assert limit_arenas({"MALLOC_ARENA_MAX": "2", "RUMOURBOT_MALLOC_ARENAS": "4"}) is None  # glibc
    # read MALLOC_ARENA_MAX at start-up already: it wins
    assert limit_arenas({"RUMOURBOT_MALLOC_ARENAS": "16"}) == 16  # glibc's own on 2 cores
