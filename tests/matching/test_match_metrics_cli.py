from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching.cli import app
from matching.evaluation import EvalConfig, run_eval
from matching.metrics import average_precision, evaluate_run


def test_checkthat_definitions() -> None:
    assert average_precision(["a", "b", "c"], {"b"}, 5) == pytest.approx(0.5)
    assert average_precision(["a", "b", "c"], {"a", "c"}, 5) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(["a", "b"], {"b"}, 1) == 0.0
    m = evaluate_run({"q1": ["x", "y"], "q2": []}, {"q1": {"y"}, "q2": {"z"}})
    assert m["MAP@5"] == pytest.approx(0.25)
    assert m["R@1"] == 0.0 and m["R@5"] == pytest.approx(0.5) and m["MRR"] == pytest.approx(0.25)


def _write(tmp: Path) -> tuple[Path, Path, Path]:
    targets = tmp / "targets.jsonl"
    targets.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {
                    "id": "t1",
                    "claim": "5G towers spread the coronavirus",
                    "title": None,
                    "text": None,
                    "date": None,
                    "url": "https://fc.example/5g",
                    "lang": "en",
                },
                {
                    "id": "t2",
                    "claim": "Plastic rice is sold in markets",
                    "title": "Is rice plastic?",
                    "text": None,
                    "date": None,
                    "url": None,
                    "lang": "en",
                },
            ]
        )
    )
    queries = tmp / "test.queries.jsonl"
    queries.write_text(
        json.dumps({"id": "q1", "text": "the 5G towers spread corona!!"})
        + "\n"
        + json.dumps({"id": "q2", "text": "they sell plastic rice"})
        + "\n"
        + json.dumps({"id": "q3", "text": ""})
        + "\n"
    )
    qrels = tmp / "test.qrels.tsv"
    qrels.write_text("q1\t0\tt1\t1\nq2\t0\tt2\t1\n")
    return targets, queries, qrels


def test_eval_command_on_an_unseen_dataset(tmp_path: Path) -> None:
    targets, queries, qrels = _write(tmp_path)
    out = tmp_path / "run.tsv"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--targets",
            str(targets),
            "--queries",
            str(queries),
            "--qrels",
            str(qrels),
            "--run",
            str(out),
            "--json",
            "--embedder",
            "hashing",
            "--no-cache",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["metrics"]["MAP@5"] == pytest.approx(1.0)
    for key in ("MAP@1", "R@1", "R@5", "R@10", "MRR"):
        assert key in data["metrics"]
    for key in (
        "index_build_s",
        "latency_ms_p50",
        "latency_ms_p99",
        "peak_rss_mb",
        "gold_removed",
        "bm25_floor",
    ):
        assert key in data
    removed = data["gold_removed"]
    answers = data["gold_removed_answers"]  # each answer given with the gold gone, to read
    assert len(answers) == round(removed["wrong_answer_rate"] * removed["queries"])
    assert all(a["answered"] not in a["gold"] for a in answers)
    lines = out.read_text().splitlines()
    assert lines[0].split()[:4] == ["q1", "Q0", "t1", "1"]
    text = CliRunner().invoke(
        app,
        [
            "eval",
            "--targets",
            str(targets),
            "--queries",
            str(queries),
            "--embedder",
            "none",
            "--no-cache",
        ],
    )
    assert text.exit_code == 0, text.output
    assert "latency" in text.output


def test_eval_prints_na_when_nothing_was_answered(tmp_path: Path) -> None:
    targets, queries, qrels = _write(tmp_path)
    # messages of fewer than four content words are never answered on their own
    queries.write_text(
        json.dumps({"id": "q1", "text": "5G corona?"})
        + "\n"
        + json.dumps({"id": "q2", "text": "plastic rice"})
        + "\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--targets",
            str(targets),
            "--queries",
            str(queries),
            "--qrels",
            str(qrels),
            "--embedder",
            "none",
            "--no-cache",
            "--no-baseline",
        ],
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("decision:"))
    assert "answered 0 (0.0%) precision n/a" in line
    assert "precision 1.0" not in line


def test_eval_lists_each_answer_given_with_the_gold_removed(tmp_path: Path) -> None:
    rows = [
        ("t1", "Drinking hot water with lemon cures the coronavirus, doctors in Lagos say."),
        ("t2", "Drinking hot water with lemon cures the coronavirus."),
        ("t3", "Plastic rice is sold in markets."),
    ]
    targets = tmp_path / "targets.jsonl"
    targets.write_text(
        "".join(
            json.dumps({"id": i, "claim": c, "title": None, "url": None, "lang": "en"}) + "\n"
            for i, c in rows
        )
    )
    queries = tmp_path / "queries.jsonl"
    text = "Forwarded: drinking hot water with lemon cures the coronavirus!!"
    queries.write_text(json.dumps({"id": "q1", "text": text}) + "\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("q1\t0\tt2\t1\n")
    result = run_eval(EvalConfig(targets, queries, qrels, embedder="none", baseline=False))
    # the Lagos claim is not a twin of the gold (a name in one only): answering it is wrong
    assert result["gold_removed"]["wrong_answer_rate"] == 1.0  # type: ignore[index]
    answers = result["gold_removed_answers"]
    assert isinstance(answers, list) and len(answers) == 1
    answer: dict[str, object] = answers[0]
    assert {k: answer[k] for k in ("query", "answered", "match", "gold")} == {
        "query": "q1",
        "answered": "t1",
        "match": "ranked",
        "gold": ["t2"],
    }
    assert float(str(answer["score"])) >= 0.795  # the lexical engine's answer threshold
