"""Measure the parsers on the held-out phrases: intent accuracy per language, latency.

    python -m nlu.evaluate [--rasa-url URL --token T] [--output bench/nlu.json]

The held-out set (nlu/eval/heldout.yml) is written apart from the training data and never
trained on. Rasa is measured through RasaParser with a generous timeout; any phrase it did not
answer (the fallback answered) is counted and reported, not silently scored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from nlu.builtin import BuiltinParser
from nlu.rasa_client import RasaParser
from nlu.types import IntentParser

HELDOUT = Path(__file__).resolve().parent / "eval" / "heldout.yml"
DEFAULT_OUTPUT = Path("bench") / "nlu.json"
LATENCY_ROUNDS = 3


@dataclass(frozen=True)
class Case:
    group: str  # a language code, or hi-Latn for romanised Hindi
    intent: str
    text: str

    @property
    def language(self) -> str:
        return self.group.split("-")[0]


@dataclass
class Score:
    correct: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    language_correct: int = 0
    fallbacks: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, group: str, right: bool) -> None:
        self.total[group] = self.total.get(group, 0) + 1
        self.correct[group] = self.correct.get(group, 0) + int(right)

    def summary(self) -> dict[str, Any]:
        accuracy = {g: round(self.correct[g] / self.total[g], 3) for g in self.total}
        n = sum(self.total.values())
        accuracy["all"] = round(sum(self.correct.values()) / n, 3)
        ordered = sorted(self.latencies_ms)
        return {
            "accuracy": accuracy,
            "cases": n,
            "language_detection_accuracy": round(self.language_correct / n, 3),
            "answered_by_fallback": self.fallbacks,
            "latency_ms": {
                "p50": round(statistics.median(ordered), 2),
                "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
            },
        }


def load_cases(path: Path = HELDOUT) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(group=str(group), intent=str(intent), text=str(text))
        for group, intents in data.items()
        for intent, texts in intents.items()
        for text in texts
    ]


async def score(parser: IntentParser, cases: list[Case], source: str) -> Score:
    result = Score()
    for case in cases:
        parsed = await parser.parse(case.text)
        result.add(case.group, parsed.intent == case.intent)
        result.language_correct += int(parsed.language == case.language)
        result.fallbacks += int(parsed.source != source)
    for _ in range(LATENCY_ROUNDS):
        for case in cases:
            started = time.perf_counter()
            await parser.parse(case.text)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
    return result


async def evaluate(rasa_url: str | None, token: str | None) -> dict[str, Any]:
    cases = load_cases()
    started = time.perf_counter()
    builtin = BuiltinParser(cache_size=0)  # latency of reading a text, not of remembering it
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "heldout": str(HELDOUT.relative_to(HELDOUT.parents[2])),
        "builtin_start_s": round(time.perf_counter() - started, 2),
        "parsers": {"builtin": (await score(builtin, cases, "builtin")).summary()},
    }
    if rasa_url:
        rasa = RasaParser(rasa_url, token, fallback=builtin, timeout=10.0)
        try:
            report["parsers"]["rasa"] = (await score(rasa, cases, "rasa")).summary()
        finally:
            await rasa.aclose()
    return report


def table(report: dict[str, Any]) -> str:
    parsers = report["parsers"]
    groups = list(next(iter(parsers.values()))["accuracy"])
    lines = ["| parser | " + " | ".join(groups) + " | p50 ms | p99 ms |"]
    lines.append("|---" * (len(groups) + 3) + "|")
    for name, summary in parsers.items():
        cells = [f"{summary['accuracy'][g]:.0%}" for g in groups]
        latency = summary["latency_ms"]
        timing = f" | {latency['p50']} | {latency['p99']} |"
        lines.append(f"| {name} | " + " | ".join(cells) + timing)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    args.add_argument("--rasa-url", help="a running Rasa server, e.g. http://127.0.0.1:5005")
    args.add_argument("--token", help="the Rasa server's auth token")
    args.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = args.parse_args(argv)
    report = asyncio.run(evaluate(options.rasa_url, options.token))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(report))
    for name, summary in report["parsers"].items():
        print(f"{name}: language detected right for {summary['language_detection_accuracy']:.0%}"
              f", {summary['answered_by_fallback']} answered by the fallback")
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
