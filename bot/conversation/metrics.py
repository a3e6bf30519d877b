"""The conversation's counters. They are registered with the process's registry by
`bot.runtime.metrics`, which serves `/metrics`; this module only defines and bumps them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_IN = Counter(
    "rumourbot_messages_in", "Inbound messages accepted", ["channel"], registry=None
)
DECISIONS = Counter("rumourbot_decisions", "Claim-check decisions", ["outcome"], registry=None)
TURN_SECONDS = Histogram(
    "rumourbot_turn_seconds",
    "Time to handle one inbound message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
    registry=None,
)
