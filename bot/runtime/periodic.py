"""A blocking job run every so often in a thread, for as long as a block runs.

The allocator's trim and the memory trace each call into C for tens of milliseconds; in a
thread (both release the GIL while they work) the event loop keeps answering residents.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any


@contextlib.asynccontextmanager
async def repeating(seconds: float, job: Callable[[], Any]) -> AsyncIterator[None]:
    """Run `job` in a thread every `seconds` while the block runs; stopped when it ends."""

    async def every() -> None:
        while True:
            await asyncio.sleep(seconds)
            await asyncio.to_thread(job)

    task = asyncio.create_task(every())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
