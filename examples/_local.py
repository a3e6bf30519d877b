"""Helpers for the connector examples: a loopback HTTP server and throw-away services.

Each example runs offline against a small sample served on 127.0.0.1; pass a real URL as the
first argument to try the real source instead.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from bot.conversation.services import Services  # noqa: E402
from bot.runtime.wiring import build_services, prepare  # noqa: E402
from domain.settings import Settings  # noqa: E402


def serve(body: bytes | str, content_type: str = "application/json") -> str:
    """Serve `body` at http://127.0.0.1:<port>/ (any path) with an ETag; returns the URL."""
    data = body.encode() if isinstance(body, str) else body

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.headers.get("If-None-Match") == '"sample"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("ETag", '"sample"')
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


@asynccontextmanager
async def services(**overrides: Any) -> AsyncIterator[Services]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp}/example.db",  # type: ignore[call-arg]
            embedder="hashing",
            demo_data=False,
            **overrides,
        )
        svc = build_services(settings)
        await prepare(svc)
        try:
            yield svc
        finally:
            await svc.db.dispose()


async def show(svc: Services, question: str) -> None:
    from sqlalchemy import select

    from domain.models import KnowledgeItem

    async with svc.db.session() as session:
        for item in (await session.scalars(select(KnowledgeItem))).all():
            print(f"  [{item.verdict:>9}] {item.claim[:70]}  ({item.origin}, {item.language})")
    decision = await svc.knowledge.decide(question)
    print(f"'{question}' -> {decision.outcome.value} ({decision.confidence:.2f})")
