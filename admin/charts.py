"""Dashboard charts as SVG, drawn server-side by pygal (no JavaScript, nothing from a CDN)."""

from __future__ import annotations

import re
import sys
from collections import Counter

import pygal
from pygal.style import Style

from admin.stats import Insight

# pygal appends a legacy import hook (for its optional map plugins, which we do not use) that
# turns every failed optional import anywhere in the process into an ImportWarning; drop it.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#374151",
    foreground_strong="#111827",
    foreground_subtle="#e5e7eb",
    opacity=".9",
    opacity_hover="1",
    colors=("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#64748b"),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
    value_font_size=11,
    guide_stroke_color="#eef0f3",
    major_guide_stroke_color="#e5e7eb",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
)
SCRIPT = re.compile(r"<script.*?</script>", re.S)
BASE = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "height": 300,
    "width": 640,
    "explicit_size": False,
    "show_legend": False,
    "margin": 16,
}


def per_day(data: Insight) -> str:
    chart = pygal.Bar(**BASE, show_minor_x_labels=False, truncate_label=-1, show_x_guides=False)
    chart.x_labels = [d.strftime("%d %b") for d, _ in data.per_day]
    chart.x_labels_major = chart.x_labels[::7]
    chart.add("Requests", [n for _, n in data.per_day])
    return str(chart.render(is_unicode=True))


def answered_share(data: Insight) -> str:
    chart = pygal.Pie(**{**BASE, "show_legend": True, "legend_at_bottom": True}, inner_radius=0.55)
    chart.add("Answered automatically", data.automatic)
    chart.add("Answered by staff", data.by_staff)
    chart.add("Waiting", data.waiting)
    return str(chart.render(is_unicode=True))


def breakdown(counts: Counter[str]) -> str:
    chart = pygal.HorizontalBar(**{**BASE, "height": 240}, truncate_label=-1, show_y_guides=False)
    top = counts.most_common(8)
    chart.x_labels = [name for name, _ in reversed(top)]
    chart.add("Requests", [n for _, n in reversed(top)])
    return str(chart.render(is_unicode=True))


def render(name: str, data: Insight) -> str | None:
    """The chart's SVG without pygal's inline config script (an image needs no script)."""
    if name == "per-day":
        svg = per_day(data)
    elif name == "answered":
        svg = answered_share(data)
    elif name in {"languages", "topics", "channels"}:
        svg = breakdown(getattr(data, name))
    else:
        return None
    return SCRIPT.sub("", svg)
