"""The delivery benchmarks' figures, this run beside the previous one, into the README.

`make bench-delivery` runs the broadcast benchmarks (Telegram, WhatsApp) and the load
benchmark (cost per message for cached viral forwards and for new claims, then the realistic
mix at rising rates), each writing its JSON under bench/; this reads them, appends one entry
(the figures, the time and the load average during each run) to bench/delivery_history.json,
writes bench/delivery.md, and rewrites the README's table between its
`<!-- bench-delivery -->` markers: every figure with the previous run's beside it. A run with
a 1-minute load average above the machine's cores is marked busy.

    .venv/bin/python scripts/bench_delivery_report.py
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
HISTORY = BENCH / "delivery_history.json"
START, END = "<!-- bench-delivery:start -->", "<!-- bench-delivery:end -->"


def _load(name: str) -> dict[str, Any] | None:
    path = BENCH / name
    return json.loads(path.read_text()) if path.exists() else None


def _load_of(uptime: str | None) -> float | None:
    found = re.search(r"load average: ([\d.]+)", uptime or "")
    return float(found.group(1)) if found else None


def _step_figures(report: dict[str, Any] | None) -> dict[str, Any]:
    if not report or not report.get("steps"):
        return {}
    step = report["steps"][-1]
    per = step.get("per_reply", {}).get("all", {})
    cpu = step.get("product_cpu_ms_per_reply", {})
    return {"cpu_ms": cpu.get("all"), "web_ms": cpu.get("web1"), "worker_ms": cpu.get("worker"),
            "round_trips": per.get("db_round_trips"), "transactions": per.get("transactions"),
            "redis": per.get("redis_commands"), "rate": step.get("rate_offered"),
            "through": step.get("accepted_per_s_in_window"),
            "load": _load_of(step.get("uptime")) or step.get("load_average_1m")}


def collect() -> dict[str, Any]:
    """This run's figures from the JSON files the benchmarks wrote."""
    entry: dict[str, Any] = {"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                             "cpus": os.cpu_count()}
    telegram = _load("broadcast.json")
    if telegram:
        entry["telegram_broadcast"] = {
            "per_second": telegram["sustained_per_second"], "limit": 30,
            "subscribers": telegram["subscribers"], "refused": telegram["platform_429s"],
            "duplicates": telegram["duplicates"], "missing": telegram["missing"],
            "load": _load_of(telegram.get("uptime")) or telegram.get("load_average_1m")}
    whatsapp = _load("broadcast_whatsapp.json")
    if whatsapp:
        entry["whatsapp_broadcast"] = {
            "per_second": whatsapp["sustained_per_second"], "limit": 80,
            "subscribers": whatsapp["subscribers"],
            "refused": sum(whatsapp["refused"].values()),
            "duplicates": whatsapp["duplicates"], "missing": whatsapp["missing"],
            "load": _load_of(whatsapp.get("uptime"))}
    entry["viral_cached"] = _step_figures(_load("load_cost_viral.json"))
    entry["new_claim"] = _step_figures(_load("load_cost_new.json"))
    mix = _load("load.json")
    if mix:
        best = mix.get("best_rate_meeting_slo", {}).get("1")
        steps = [s for s in mix.get("steps", []) if s["webs"] == 1]
        entry["mix"] = {
            "best_rate": best, "slo": mix.get("slo"),
            "steps": [{"rate": s["rate_offered"], "replies": s["replies_per_s_in_window"],
                       "p99": s["latency_ms"]["p99"], "ok": s["meets_slo"],
                       "cpu_ms": s.get("product_cpu_ms_per_reply", {}).get("all"),
                       "load": _load_of(s.get("uptime")) or s.get("load_average_1m")}
                      for s in steps]}
    scaleout = _load("scaleout.json")
    if scaleout:
        entry["scaleout"] = {
            pair: {"held": s["highest_rate_held"], "most": s["most_replies_per_s"],
                   "duplicates": s["duplicates"], "unanswered": s["unanswered"],
                   "per_core": (s.get("sizing") or {}).get("messages_per_s_per_core_ours"),
                   "load": max((st.get("load_average_1m") or 0.0 for st in scaleout["steps"]
                                if f"{st['webs']} web + {st['workers']} worker" == pair),
                               default=None)}
            for pair, s in scaleout.get("summary", {}).items()}
    return entry


def _busy(load: float | None, cpus: int) -> str:
    if load is None:
        return "load ?"
    return f"load {load:g}" + (" (busy)" if load > cpus else "")


def rows(entry: dict[str, Any]) -> dict[str, str]:
    """What each table row shows for one run."""
    cpus = int(entry.get("cpus") or 1)
    out: dict[str, str] = {}
    for key, label in (("viral_cached", "CPU per answered cached viral forward (target <= 8 ms)"),
                       ("new_claim", "CPU per new claim with its embedding (target <= 45 ms)")):
        f = entry.get(key) or {}
        if f.get("cpu_ms") is not None:
            out[label] = (f"**{f['cpu_ms']:g} ms** (web {f['web_ms']:g}, worker "
                          f"{f['worker_ms']:g}); {f['round_trips']:g} database round trips, "
                          f"{f['transactions']:g} transactions, {f['redis']:g} Redis commands; "
                          f"offered {f['rate']:g}/s"
                          + (f", {f['through']:g}/s got through" if f.get("through") else "")
                          + f", {_busy(f.get('load'), cpus)}")
    mix = entry.get("mix")
    if mix:
        best = mix["best_rate"]
        shown = "; ".join(f"{s['rate']:g}/s -> {s['replies']:g}/s p99 "
                          f"{'-' if s['p99'] is None else format(s['p99'], 'g')} ms "
                          f"{'ok' if s['ok'] else 'over'} ({_busy(s.get('load'), cpus)})"
                          for s in mix["steps"])
        out["realistic mix, 1 web + 1 worker (p99 < 200 ms)"] = (
            f"**{'none' if best is None else format(best, 'g') + '/s'}** met it; {shown}")
    for pair, s in (entry.get("scaleout") or {}).items():
        out[f"scale-out: {pair}, each pair on its own test host"] = (
            f"**{'none' if s['held'] is None else format(s['held'], 'g') + '/s'}** held "
            f"(most {s['most']:g} replies/s); duplicates {s['duplicates']}, unanswered "
            f"{s['unanswered']}; {'-' if s['per_core'] is None else format(s['per_core'], 'g')}"
            f" messages/s per core of ours; max {_busy(s.get('load'), cpus)}")
    for key, label in (("telegram_broadcast", "Telegram broadcast (limit 30/s)"),
                       ("whatsapp_broadcast", "WhatsApp broadcast (limit 80/s, pair limit)")):
        b = entry.get(key)
        if b:
            out[label] = (f"**{b['per_second']:g}/s** ({100 * b['per_second'] / b['limit']:.1f}% "
                          f"of the limit) to {b['subscribers']:,}; refused {b['refused']}, "
                          f"duplicates {b['duplicates']}, missing {b['missing']}; "
                          f"{_busy(b.get('load'), cpus)}")
    return out


def table(current: dict[str, Any], previous: dict[str, Any] | None) -> str:
    now, before = rows(current), rows(previous or {})
    lines = [START, "",
             f"| what | this run ({current['at']}) | previous run"
             f"{' (' + previous['at'] + ')' if previous else ''} |", "|---|---|---|"]
    for label in dict.fromkeys([*now, *before]):
        lines.append(f"| {label} | {now.get(label, '-')} | {before.get(label, '-')} |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    history: list[dict[str, Any]] = json.loads(HISTORY.read_text()) if HISTORY.exists() else []
    current = collect()
    previous = history[-1] if history else None
    history.append(current)
    HISTORY.write_text(json.dumps(history, indent=2) + "\n")
    text = table(current, previous)
    (BENCH / "delivery.md").write_text("# Delivery benchmarks (make bench-delivery)\n\n"
                                       + text + "\n")
    readme = REPO / "README.md"
    content = readme.read_text()
    if START in content and END in content:
        head, rest = content.split(START, 1)
        content = head + text + rest.split(END, 1)[1]
        readme.write_text(content)
    print(text)


if __name__ == "__main__":
    main()
