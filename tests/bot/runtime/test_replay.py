"""`rumourbot replay` on a small dataset written here: residents, staff and viral copies."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from bot.runtime.cli import app
from bot.runtime.replay import noisy_copy

CLAIMS = {
    "water": "The city will cut off all water supply for two weeks starting Monday.",
    "vaccine": "The measles vaccine given at schools causes infertility in girls.",
    "curfew": "The city has declared a curfew from 6 pm tonight in all districts.",
    "bridge": "The main bridge on River Road is closed for repairs this weekend.",
}
QUERIES = {
    "q1": (
        "water",
        "Breaking: no tap water anywhere in town for fourteen days from Monday, stock up",
    ),
    "q2": ("vaccine", "Girls who get the school measles jab will never be able to have babies"),
    "q3": ("curfew", "Everyone must be indoors by six this evening, a curfew for every district"),
}


def _dataset(tmp: Path) -> tuple[Path, Path, Path]:
    targets = tmp / "targets.jsonl"
    targets.write_text(
        "".join(
            json.dumps({"id": k, "claim": v, "title": None, "url": None, "lang": "en"}) + "\n"
            for k, v in CLAIMS.items()
        )
    )
    queries = tmp / "test.queries.jsonl"
    queries.write_text(
        "".join(json.dumps({"id": q, "text": t}) + "\n" for q, (_, t) in QUERIES.items())
    )
    qrels = tmp / "test.qrels.tsv"
    qrels.write_text("".join(f"{q}\t0\t{g}\t1\n" for q, (g, _) in QUERIES.items()))
    return targets, queries, qrels


def test_noisy_copies_keep_the_words_but_not_the_form() -> None:
    rng = random.Random(1)
    text = QUERIES["q1"][1]
    copies = {noisy_copy(text, rng) for _ in range(10)}
    assert text not in copies and len(copies) > 5


def test_replay_reports_what_residents_and_staff_saw(tmp_path: Path) -> None:
    targets, queries, qrels = _dataset(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--targets",
            str(targets),
            "--queries",
            str(queries),
            "--qrels",
            str(qrels),
            "--copies",
            "3",
            "--staff-after",
            "1",
            "--embedder",
            "hashing",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["messages"] == 12 and report["pool"] == 4
    assert report["answered_wrong"] == 0
    # every rumour is confirmed (by residents' picks or staff) before its last copies arrive
    assert report["confirmed_messages"] >= 3
    assert report["auto_answered_when_confirmed"] >= 0.5
    assert report["clusters_per_gold_item"] in (None, 1.0)
    for key in ("auto_answered", "precision", "suggested", "open_clusters_at_end"):
        assert key in report
    # the first sighting of each rumour is reported on its own (no confirmed variant helps it)
    assert report["first_messages"] == 3
    assert (
        report["first_answered"] <= 3 and report["first_answered_right"] == report["first_answered"]
    )
    assert report["unconfirmed_answered_right"] == report["unconfirmed_answered"]
