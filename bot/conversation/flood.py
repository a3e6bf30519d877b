"""Per-resident flood limits: past a soft limit a resident is slowed, past a hard one blocked.

Counts are per (channel, chat) in fixed hourly windows, kept in Redis when several processes
share the work, in memory otherwise. Staff can see and lift blocks (`rumourbot blocked`).
"""

from __future__ import annotations

import enum
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

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

    @staticmethod
    def _key(channel: str, chat_id: str) -> str:
        return f"rumourbot:flood:{channel}:{chat_id}:{int(time.time()) // WINDOW_SECONDS}"

    async def hit(self, channel: str, chat_id: str) -> FloodVerdict:
        count = await self._increment(self._key(channel, chat_id))
        if count > self.block_after:
            return FloodVerdict.BLOCK
        if count == self.slow_after + 1:
            return FloodVerdict.SLOW_DOWN
        return FloodVerdict.IGNORE if count > self.slow_after else FloodVerdict.OK

    async def forgive(self, channel: str, chat_id: str) -> None:
        """Start this hour's count again (staff lifted a block: the next message must not
        block the resident at once). Counts kept by another process without Redis stay."""
        key = self._key(channel, chat_id)
        self._counts.pop(key, None)
        if self.redis is not None:
            try:
                await self.redis.delete(key)
            except (RedisError, OSError) as exc:
                log.warning("flood count not reset: Redis %s", type(exc).__name__)

    async def _increment(self, key: str) -> int:
        """Count in Redis; while Redis is unreachable, count in this process instead."""
        if self.redis is not None:
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, WINDOW_SECONDS + 60)
                    count, _ = await pipe.execute()
                return int(count)
            except (RedisError, OSError) as exc:
                log.warning("flood counts kept in this process: Redis %s", type(exc).__name__)
        window = key.rsplit(":", 1)[1]
        if any(not k.endswith(window) for k in self._counts):
            self._counts = {k: v for k, v in self._counts.items() if k.endswith(window)}
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]
