"""Token-bucket rate limits: in-process for the embedded default, in Redis across processes.

`acquire(key, rate, burst, reserve, cost)` returns how many seconds the caller must wait
until one token is there, and takes `cost` tokens (a message sent as several platform messages
pays for each of them; the next caller waits for the difference). With `reserve=True` the slot
is booked even when the caller has to wait (smooth global pacing: sleep, then send); with
`reserve=False` nothing is consumed unless the send may go now (a busy chat's message is
rescheduled instead of holding a worker). `acquire_many` takes several buckets in order in one
step (one Redis script call: a message's chat checks and its platform slot), stopping at the
first non-reserving bucket that says "wait".

When Redis is unreachable (restarting, say) the shared limiter falls back to buckets in its
own process until Redis answers again: delivery goes on, and with several workers the
platform's own 429 answers (whose `retry_after` is honoured) cover the overlap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Take:
    """One bucket of an `acquire_many` call (the arguments of `acquire`)."""

    key: str
    rate: float
    burst: float
    reserve: bool
    cost: float = 1.0


class RateLimiter(Protocol):
    async def acquire(
        self, key: str, rate: float, burst: float, reserve: bool, cost: float = 1.0
    ) -> float: ...

    async def acquire_many(self, takes: Sequence[Take]) -> list[float]:
        """Each take's wait, in order; the list stops after the first non-reserving take
        that must wait (the takes after it are not taken)."""
        ...


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class LocalRateLimiter:
    """Buckets in this process's memory (one process: the embedded default).

    At most `max_keys` buckets (RUMOURBOT_LOCAL_RATE_LIMIT_KEYS), least recently used dropped
    first: there is one per chat, and a chat quiet for that long has a full bucket anyway."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self.max_keys = max_keys

    async def acquire(
        self, key: str, rate: float, burst: float, reserve: bool, cost: float = 1.0
    ) -> float:
        now = time.monotonic()
        bucket = self._buckets.pop(key, None) or _Bucket(burst, now)
        self._buckets[key] = bucket  # last: the dict's order is the order of use
        if len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= cost
            return 0.0
        wait = (1 - bucket.tokens) / rate
        if reserve:
            bucket.tokens -= cost
        return wait

    async def acquire_many(self, takes: Sequence[Take]) -> list[float]:
        waits: list[float] = []
        for take in takes:
            waits.append(
                await self.acquire(take.key, take.rate, take.burst, take.reserve, take.cost)
            )
            if waits[-1] > 0 and not take.reserve:
                break
        return waits


# Redis keeps each bucket as a hash {tokens, ts}; time comes from the Redis server so every
# process shares one clock. KEYS are the buckets, taken in order; ARGV holds four values per key
# (rate per second, burst, reserve 1/0, cost). Returns each wait in milliseconds as a string,
# stopping after the first non-reserving bucket that must wait.
_BUCKETS_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local waits = {}
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 4
  local rate = tonumber(ARGV[at + 1]) / 1000
  local burst = tonumber(ARGV[at + 2])
  local reserve = ARGV[at + 3] == '1'
  local cost = tonumber(ARGV[at + 4]) or 1
  local data = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(data[1]) or burst
  local ts = tonumber(data[2]) or now
  tokens = math.min(burst, tokens + (now - ts) * rate)
  local wait = 0
  if tokens >= 1 then
    tokens = tokens - cost
  else
    wait = (1 - tokens) / rate
    if reserve then tokens = tokens - cost end
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst + 2 - math.min(tokens, 0)) / rate) + 1000)
  waits[i] = tostring(wait)
  if wait > 0 and not reserve then break end
end
return waits
"""


class RedisRateLimiter:
    """Buckets shared by every process through Redis (one atomic script per acquire)."""

    def __init__(self, redis: Redis, prefix: str = "rumourbot:rl:", max_keys: int = 10_000) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_BUCKETS_LUA)
        self._fallback = LocalRateLimiter(max_keys)
        self.degraded = False

    async def acquire(
        self, key: str, rate: float, burst: float, reserve: bool, cost: float = 1.0
    ) -> float:
        return (await self.acquire_many([Take(key, rate, burst, reserve, cost)]))[0]

    async def acquire_many(self, takes: Sequence[Take]) -> list[float]:
        args: list[float | int] = []
        for take in takes:
            args += (take.rate, take.burst, int(take.reserve), take.cost)
        try:
            waited = await self._script(keys=[self.prefix + t.key for t in takes], args=args)
        except (RedisError, OSError) as exc:
            if not self.degraded:
                log.warning("rate limits held in this process: Redis %s", type(exc).__name__)
                self.degraded = True
            return await self._fallback.acquire_many(takes)
        if self.degraded:
            log.warning("rate limits shared through Redis again")
            self.degraded = False
        return [float(w) / 1000.0 for w in waited]


@dataclass(frozen=True)
class ChannelLimits:
    """A platform's sending limits: overall messages per second, and per chat."""

    per_second: float
    per_chat_per_second: float | None = None
    per_chat_burst: float = 3.0


class Backoff:
    """Waits that double while a platform keeps saying "slow down" to the same key, up to
    `cap` seconds, and start again from the platform's own figure after a success."""

    def __init__(self, cap: float = 900.0) -> None:
        self.cap = cap
        self._strikes: dict[str, int] = {}

    def wait(self, key: str, base: float) -> float:
        strikes = self._strikes.get(key, 0)
        if len(self._strikes) > 10_000:  # keys of chats that never succeeded again
            self._strikes.clear()
        self._strikes[key] = strikes + 1
        return float(min(self.cap, base * 2**strikes))

    def reset(self, key: str) -> None:
        self._strikes.pop(key, None)
