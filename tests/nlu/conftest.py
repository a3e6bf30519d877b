"""Fixtures for the NLU tests: one trained built-in parser, and a real Rasa server.

The Rasa server is started once per session from the separate `.rasa-venv` (see
scripts/rasa.sh): `rasa.sh train` first, which trains only when no model matches the hash of
the training data (it keeps trained models in a cache between runs), then served on a
free port with a fresh auth token, and stopped at the end. When the run includes Rasa tests and
the model is there, it is started as soon as the tests are collected, so it boots while the
other tests run. Without the env the Rasa tests skip, unless RUMOURBOT_REQUIRE_RASA=1 (as in
CI), where they fail.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from nlu import BuiltinParser

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "nlu" / "rasa"
MODEL = PROJECT / "models" / "rumourbot.tar.gz"
RASA_VENV = Path(os.environ.get("RASA_VENV", str(REPO / ".rasa-venv")))
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class RasaServer:
    url: str
    token: str


@pytest.fixture(scope="session")
def builtin_parser() -> BuiltinParser:
    return BuiltinParser()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rasa_executable() -> Path:
    rasa = RASA_VENV / "bin" / "rasa"
    if rasa.exists():
        return rasa
    message = (
        f"no Rasa env at {RASA_VENV}: run `make rasa-install` (scripts/rasa.sh install) "
        "to run the Rasa integration tests"
    )
    if os.environ.get("RUMOURBOT_REQUIRE_RASA") == "1":
        pytest.fail(f"RUMOURBOT_REQUIRE_RASA=1 but {message}", pytrace=False)
    pytest.skip(message)


def _train() -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "rasa.sh"), "train"],
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_VENV": str(RASA_VENV)},
        check=False,
        timeout=900,
    )
    if result.returncode != 0 or not MODEL.exists():
        pytest.fail(f"Rasa training failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def _wait_until_ready(server: RasaServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Rasa exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            status = httpx.get(f"{server.url}/status", params={"token": server.token}, timeout=2)
            if status.status_code == 200 and status.json().get("model_id"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"Rasa did not start in {START_TIMEOUT_S:.0f}s:\n{log.read_text()[-3000:]}")


class _Starting:
    """A Rasa server being started: its process, log and address."""

    def __init__(self, log: Path) -> None:
        rasa = RASA_VENV / "bin" / "rasa"
        _train()  # a hash check when nothing changed
        self.server = RasaServer(
            url=f"http://127.0.0.1:{free_port()}", token=secrets.token_urlsafe(16)
        )
        self.log = log
        port = self.server.url.rsplit(":", 1)[1]
        command = [str(rasa), "run", "--enable-api", "--interface", "127.0.0.1", "--port", port]
        command += ["--auth-token", self.server.token, "--model", str(MODEL)]
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false",
               "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        with log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=PROJECT, stdout=output,
                                            stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_early: list[_Starting] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start Rasa as soon as the run is known to need it: it loads TensorFlow and the model
    while the tests before the NLU ones run, instead of holding up the run when they come."""
    wanted = any("rasa_server" in getattr(item, "fixturenames", ()) for item in session.items)
    if wanted and not _early and (RASA_VENV / "bin" / "rasa").exists() and MODEL.exists():
        try:
            _early.append(_Starting(Path(tempfile.mkdtemp(prefix="rasa-")) / "rasa.log"))
        except BaseException:  # the fixture starts it again, and says what went wrong
            _early.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _early:
        _early.pop().stop()


@pytest.fixture(scope="session")
def rasa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    _rasa_executable()
    starting = _early.pop() if _early else _Starting(tmp_path_factory.mktemp("rasa") / "rasa.log")
    try:
        _wait_until_ready(starting.server, starting.process, starting.log)
        yield starting.server
    finally:
        starting.stop()
