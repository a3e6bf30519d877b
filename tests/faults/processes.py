"""The product's production shape as real OS processes (`rumourbot web` / `rumourbot worker`),
and a private Redis server a test may stop and start again."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.telegram_api import TOKEN, FakeTelegram

RUMOURBOT = str(Path(sys.executable).with_name("rumourbot"))
WEBHOOK_SECRET = "fault-test-secret"


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def process_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """Environment of one product process: settings only from here, none from the caller
    (the database, Redis, the hashing embedder, no demo data, JSON logs, no sources file,
    and `settings`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUMOURBOT_")}
    env.update(
        RUMOURBOT_DATABASE_URL=database_url,
        RUMOURBOT_REDIS_URL=redis_url,
        RUMOURBOT_EMBEDDER="hashing",
        RUMOURBOT_DEMO_DATA="false",
        RUMOURBOT_LOG_FORMAT="json",
        RUMOURBOT_SOURCES_FILE="/nonexistent/sources.toml",
    )
    env.update(settings)
    return env


def product_env(
    database_url: str, redis_url: str, fake: FakeTelegram, **extra: str
) -> dict[str, str]:
    """Environment of one product process with its Telegram bot on `fake` (`extra` last)."""
    telegram = {
        "RUMOURBOT_TELEGRAM_TOKEN": TOKEN,
        "RUMOURBOT_TELEGRAM_API_URL": fake.api_url,
        "RUMOURBOT_TELEGRAM_FILE_URL": fake.file_url,
        "RUMOURBOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "RUMOURBOT_OUTBOX_WORKER_TIMEOUT_SECONDS": "2",
        "RUMOURBOT_INDEX_REFRESH_SECONDS": "0.5",
    }
    return process_env(database_url, redis_url, **{**telegram, **extra})


class ProductProcess:
    """One `rumourbot web` or `rumourbot worker` process; its log goes to `log_path`."""

    def __init__(self, role: str, env: dict[str, str], log_path: Path) -> None:
        self.role = role
        self.port = free_port()
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        if role == "web":
            self.env["RUMOURBOT_PORT"] = str(self.port)
            self.env.setdefault("RUMOURBOT_TELEGRAM_WEBHOOK_URL", f"{self.url}/telegram/webhook")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 180.0) -> ProductProcess:  # noqa: ASYNC109
        """Start the process and wait until it answers /healthz (slow on a loaded machine)."""
        args = [RUMOURBOT, self.role] + (
            ["--port", str(self.port)] if self.role == "worker" else []
        )
        with self.log_path.open("ab") as log:
            # Popen returns at once (it does not wait for the child)
            self.process = subprocess.Popen(args, env=self.env, stdout=log, stderr=log)  # noqa: ASYNC220
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.role} exited: {self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.role} did not start: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine or container dies."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class RedisServer:
    """A private redis-server on its own port of `address` (nothing kept on disk), to stop
    and restart."""

    def __init__(self, workdir: Path, address: str = "127.0.0.1") -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.binary = binary
        self.address = address
        self.port = free_port(address)
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.address}:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            self.address,
            "--protected-mode",  # no password: else only clients on loopback are let in
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex((self.address, self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
