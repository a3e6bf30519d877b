"""The dispatcher's counters. They are registered with the process's registry by
`bot.runtime.metrics`, which serves `/metrics`; this module only defines and bumps them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_OUT = Counter(
    "rumourbot_messages_out", "Outbound send attempts", ["channel", "result"], registry=None
)
SEND_SECONDS = Histogram(
    "rumourbot_send_seconds",
    "Time of one platform send",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
    registry=None,
)
