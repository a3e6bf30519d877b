"""Serve an ASGI app on a loopback port in a background thread (for fakes of outside APIs)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class LoopbackServer:
    """uvicorn in its own thread and event loop; `on_loop` prepares loop-bound objects and
    `background` runs beside the server for as long as it serves."""

    def __init__(self, app: ASGIApp, name: str,
                 on_loop: Callable[[asyncio.AbstractEventLoop], None] | None = None,
                 background: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        self.name = name
        self.on_loop = on_loop
        self.background = background
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    lifespan="off", ws="none", http="h11"))
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self) -> int:
        """Start serving; returns the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True,
                                        name=self.name)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.005)
        return int(sock.getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        if self.on_loop is not None:
            self.on_loop(loop)
        extra = loop.create_task(self.background()) if self.background is not None else None
        loop.run_until_complete(self.server.serve(sockets=[sock]))
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(extra)
        loop.close()


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """`with serve(app) as url:` — the app answers at `url` until the block ends."""
    server = LoopbackServer(app, "fake-http")
    port = server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
