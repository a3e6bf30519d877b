"""glibc's allocator in a long-running process: fewer arenas, and free memory given back.

A soak at 40 messages/s showed the web process's RSS growing while the memory Python and
glibc had in use stayed flat: what grew was memory glibc had been given back by the process
but kept, spread over one arena per thread that ever allocated (the event loop, the threads
that embed and match). Two remedies, each a setting: cap the arenas (RUMOURBOT_MALLOC_ARENAS,
as MALLOC_ARENA_MAX would, set before threads start) and hand free pages back to the system
every RUMOURBOT_MALLOC_TRIM_SECONDS (`malloc_trim`, on by default; the cap is opt-in).
Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import AsyncIterator

from bot.runtime.periodic import repeating

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter number
DEFAULT_ARENAS = 0  # glibc's own choice; 2 lowered the web's RSS by about 50 MB in a soak


@functools.cache
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has `malloc_trim` and `mallopt`), loaded once:
    `find_library` may run `ldconfig`, too slow to repeat for every trim."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(environ: dict[str, str] | None = None) -> int | None:
    """Cap glibc's arenas at RUMOURBOT_MALLOC_ARENAS (default 0: glibc's choice of eight per
    core). MALLOC_ARENA_MAX, when the operator set it, wins (glibc read it already).
    Returns the cap applied, or None."""
    env = os.environ if environ is None else environ
    if "MALLOC_ARENA_MAX" in env:
        return None
    try:
        arenas = int(env.get("RUMOURBOT_MALLOC_ARENAS", DEFAULT_ARENAS))
    except ValueError:
        return None
    libc = glibc()
    if arenas <= 0 or libc is None:
        return None
    return arenas if libc.mallopt(M_ARENA_MAX, arenas) == 1 else None


def trim() -> bool:
    """Give the pages glibc holds free back to the system; True when some were."""
    libc = glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


@contextlib.asynccontextmanager
async def trimming(seconds: float) -> AsyncIterator[None]:
    """`trim()` every `seconds` while the block runs (0: never)."""
    if seconds <= 0 or glibc() is None:
        yield
        return
    async with repeating(seconds, trim):
        yield
