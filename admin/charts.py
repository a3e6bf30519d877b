"""Dashboard and report charts as inline SVG drawn from templates (`_charts.html`): the panel
needs bars and a share, nothing a chart library is worth depending on (and no script, no CDN).

This module only turns numbers into geometry; the markup lives in the template, so the text in
a chart is autoescaped like every other page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from admin.stats import Insight, Report

WIDTH, HEIGHT = 640, 220
WIDEST_COLUMN = 72.0  # a few weeks stay columns, not a wall
NAMES = ("per-day", "answered", "languages", "topics", "channels")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def columns(points: list[tuple[date, int]]) -> list[Bar]:
    """One column per day, scaled to the tallest."""
    top = max((v for _, v in points), default=0) or 1
    slot = WIDTH / max(len(points), 1)
    plot = HEIGHT - 48  # from y=18 (room for a value above the tallest) to the axis at 190
    return [
        Bar(
            day.strftime("%d %b"),
            value,
            i * slot + 2,
            18 + plot * (1 - value / top),
            min(max(slot - 4, 1), WIDEST_COLUMN),
            plot * value / top,
        )
        for i, (day, value) in enumerate(points)
    ]


def rows(counts: Counter[str], limit: int = 8) -> list[Bar]:
    """Horizontal bars, largest first, scaled to the largest."""
    items = counts.most_common(limit)
    top = max((v for _, v in items), default=0) or 1
    return [
        Bar(label, value, 120, 6 + i * 26, (WIDTH - 180) * value / top, 18)
        for i, (label, value) in enumerate(items)
    ]


class Answered(Protocol):
    automatic: int
    by_staff: int
    waiting: int


def share(data: Answered) -> list[Bar]:
    """Answered automatically / by staff / waiting, as one bar split in three."""
    parts = [("automatic", data.automatic), ("by staff", data.by_staff), ("waiting", data.waiting)]
    total = sum(v for _, v in parts) or 1
    bars, x = [], 0.0
    for label, value in parts:
        width = WIDTH * value / total
        bars.append(Bar(label, value, x, 20, width, 40))
        x += width
    return bars


Chart = tuple[str, list[Bar]]
COUNTED = frozenset({"languages", "topics", "channels"})  # Counter fields drawn as rows


def _chart(name: str, data: Insight | Report, timeline: str,
           points: list[tuple[date, int]]) -> Chart | None:
    """(kind, bars) for chart `name` of `data`, whose columns chart is called `timeline`."""
    if name == timeline:
        return "columns", columns(points)
    if name == "answered":
        return "share", share(data)
    if name in COUNTED:
        return "rows", rows(getattr(data, name))
    return None


def chart_data(name: str, data: Insight) -> Chart | None:
    """(kind, bars) for a named dashboard chart, or None for an unknown name."""
    return _chart(name, data, "per-day", data.per_day)


def report_chart(name: str, data: Report) -> Chart | None:
    """(kind, bars) for a chart of the council report, or None for an unknown name."""
    return _chart(name, data, "weeks", data.weeks)
