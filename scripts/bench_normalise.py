"""The normaliser's worst case: CPU per 4,000-character message for adversarial inputs.

Each input is built to make one pass of `matching.normalise` work hardest (long runs that a
backtracking regex would try from every position, nested entities, many candidate links).
The target is under 20 ms of CPU per message (`clean_text` + `normalise_text` +
`extract_urls`). Prints a table and writes bench/normalise.json.

    .venv/bin/python scripts/bench_normalise.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from matching.normalise import clean_text, extract_urls, normalise_text  # noqa: E402

SIZE = 4000
TARGET_MS = 20.0


def _fill(unit: str, tail: str = "") -> str:
    return (unit * (SIZE // len(unit) + 1))[: SIZE - len(tail)] + tail


ADVERSARIAL: dict[str, Callable[[], str]] = {
    "dotted labels a.a.a…/": lambda: _fill("a.", "/"),
    "dotted labels, no slash": lambda: _fill("a."),
    "long label then .com/": lambda: _fill("a", ".com/"),
    "hyphen labels -.-.-": lambda: _fill("-."),
    "www. repeated": lambda: _fill("www."),
    "http:// repeated": lambda: _fill("http://"),
    "spaces then (@": lambda: _fill(" ", "(@x)"),
    "dashes and (@handle)": lambda: _fill("— (@a) ", ""),
    "tweet signature bait": lambda: _fill("- x (@a) Jan 1, 2020 "),
    "nested &amp;": lambda: "&" + _fill("amp;"),
    "entities &#1;": lambda: _fill("&#1;"),
    "unclosed tags <<<": lambda: _fill("<"),
    "tags <a <a": lambda: _fill("<a "),
    "@@@@ handles": lambda: _fill("@"),
    "@a@a handles": lambda: _fill("@a"),
    "RT RT RT": lambda: _fill("RT "),
    "forward share send": lambda: _fill("forward share send to "),
    "please forward + spaces": lambda: "please forward" + " " * (SIZE - 30) + "to all",
    "repeated punctuation !?!?": lambda: _fill("!?"),
    "emoji and joiners": lambda: _fill("👍🏽\u200d"),
    "combining marks": lambda: _fill("a\u0301\u0302\u0303"),
    "NFKC expanders ﷺ": lambda: _fill("\ufdfa"),
    "lone surrogates": lambda: _fill("\ud800a"),
    "mixed realistic forward": lambda: _fill(
        "Forwarded as received!!! Check www.example.com/x?utm_source=wa @user &amp; 👍 "
    ),
}


def cpu_ms(text: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        clean_text(text)
        normalise_text(text)
        extract_urls(text)
        best = min(best, (time.process_time() - start) * 1000)
    return best


def main() -> int:
    rows = []
    for name, build in ADVERSARIAL.items():
        text = build()
        rows.append({"input": name, "chars": len(text), "cpu_ms": round(cpu_ms(text), 2)})
    worst = max(rows, key=lambda r: r["cpu_ms"])
    print(f"{'adversarial input':32} {'chars':>6} {'CPU ms':>8}")
    for row in rows:
        print(f"{row['input']:32} {row['chars']:>6} {row['cpu_ms']:>8.2f}")
    ok = worst["cpu_ms"] < TARGET_MS
    print(f"worst: {worst['input']} {worst['cpu_ms']:.2f} ms (target < {TARGET_MS:.0f} ms): "
          f"{'reached' if ok else 'NOT reached'}")
    out = REPO / "bench" / "normalise.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"target_ms": TARGET_MS, "rows": rows}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
