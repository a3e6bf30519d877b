"""Coalescing many callers' small writes into one statement (the dispatcher's bookkeeping).

A worker records each message's result after its platform call: one transaction per message
was a large part of a worker's database work. `Coalescer` lets every chat's sender keep
awaiting its own row exactly as before, while the results that came back during the same
moment (and while the previous write was in flight) go to the database together: under load
one round trip serves dozens of messages, when idle it costs what a single write did. (The
"about to send" mark is not coalesced: see `OutboxDispatcher._mark_started`.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


class Coalescer(Generic[K, V, R]):
    """`await submit(key, value)` -> the flush's answer for `key`; one flush at a time.

    `flush` receives every (key, value) submitted since the last flush began and returns a
    result per key (a missing key gets `default`). When it raises, every caller of that flush
    gets the exception (nothing is silently lost). `limit` caps one flush's size.
    """

    def __init__(
        self,
        flush: Callable[[list[tuple[K, V]]], Awaitable[dict[K, R]]],
        default: R,
        limit: int = 500,
    ) -> None:
        self._flush = flush
        self._default = default
        self._limit = limit
        self._pending: list[tuple[K, V, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, key: K, value: V) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((key, value, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the other chats of this moment submit too
        while self._pending:
            batch, self._pending = self._pending[: self._limit], self._pending[self._limit :]
            try:
                found = await self._flush([(k, v) for k, v, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    for _, _, future in self._pending:
                        if not future.done():
                            future.set_exception(exc)
                    self._pending = []
                    raise
                continue
            for key, _, future in batch:
                if not future.done():
                    future.set_result(found.get(key, self._default))
