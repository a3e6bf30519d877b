"""Per-resident flood limits: past a soft limit a resident is slowed, past a hard one blocked.

Counts are per (channel, chat) in fixed hourly windows, kept in Redis when several processes
share the work, in memory otherwise. Staff can see and lift blocks (`rumourbot blocked`).
"""

from __future__ import annotations

import enum
import time

from redis.asyncio import Redis

WINDOW_SECONDS = 3600


class FloodVerdict(enum.StrEnum):
    OK = "ok"
    SLOW_DOWN = "slow_down"  # told once, then ignored for the rest of the hour
    IGNORE = "ignore"
    BLOCK = "block"


class FloodGuard:
    def __init__(self, slow_after: int, block_after: int, redis: Redis | None = None) -> None:
        self.slow_after = slow_after
        self.block_after = block_after
        self.redis = redis
        self._counts: dict[str, int] = {}

    async def hit(self, channel: str, chat_id: str) -> FloodVerdict:
        count = await self._increment(
            f"rumourbot:flood:{channel}:{chat_id}:{int(time.time()) // WINDOW_SECONDS}"
        )
        if count > self.block_after:
            return FloodVerdict.BLOCK
        if count == self.slow_after + 1:
            return FloodVerdict.SLOW_DOWN
        return FloodVerdict.IGNORE if count > self.slow_after else FloodVerdict.OK

    async def _increment(self, key: str) -> int:
        if self.redis is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS + 60)
                count, _ = await pipe.execute()
            return int(count)
        window = key.rsplit(":", 1)[1]
        if any(not k.endswith(window) for k in self._counts):
            self._counts = {k: v for k, v in self._counts.items() if k.endswith(window)}
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]
