"""The in-process rate limiter keeps at most `max_keys` buckets (one per chat without Redis)."""

from __future__ import annotations

from bot.delivery.ratelimit import LocalRateLimiter


async def test_a_busy_chat_stays_limited_while_quiet_ones_are_forgotten() -> None:
    limiter = LocalRateLimiter(max_keys=100)
    assert await limiter.acquire("telegram:chat:busy", 0.001, 1.0, reserve=False) == 0.0
    for n in range(99):  # the bound is not reached: the busy chat's empty bucket is kept
        await limiter.acquire(f"telegram:chat:{n}", 0.001, 1.0, reserve=False)
    assert await limiter.acquire("telegram:chat:busy", 0.001, 1.0, reserve=False) > 0
    for n in range(100, 400):  # 300 new chats: the least recently used buckets go
        await limiter.acquire(f"telegram:chat:{n}", 0.001, 1.0, reserve=False)
    assert len(limiter._buckets) == 100  # noqa: SLF001 - the bound is what is tested
    # forgotten: the chat starts again with a full bucket, as after a long quiet spell
    assert await limiter.acquire("telegram:chat:busy", 0.001, 1.0, reserve=False) == 0.0
