"""`rumourbot chat --script FILE --json`: two chats at once and a chat beside `rumourbot run`,
on one database, lose nothing and never take each other's replies."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.runtime.terminal_chat import parse_line, session_channel
from domain.db import Database
from tests.faults.processes import free_port

RUMOURBOT = str(Path(sys.executable).with_name("rumourbot"))
SCRIPT = """\
Is it true that the main bridge on river road collapsed this morning?
ok
/subscribe
[button 2]
thanks
please delete my data
[button 1]
"""


def test_script_lines() -> None:
    assert parse_line("[button 2]", interactive=False, buttons=0) == ("", 2)
    assert parse_line("9", interactive=False, buttons=3) == ("9", None)  # a message: "9"
    assert parse_line("2", interactive=True, buttons=3) == ("", 2)
    assert len(session_channel("a-very-long-channel-name", "0123abcd")) <= 20


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUMOURBOT_")}
    env.update(
        RUMOURBOT_DATABASE_URL=db_url,
        RUMOURBOT_EMBEDDER="hashing",
        RUMOURBOT_DEMO_DATA="false",
        RUMOURBOT_SOURCES_FILE="/nonexistent/sources.toml",
        RUMOURBOT_INDEX_REFRESH_SECONDS="0.5",
        **extra,
    )
    return env


async def _chat(script: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        RUMOURBOT,
        "chat",
        "--script",
        str(script),
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, err.decode()[-2000:]
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


async def _web_chat(url: str, texts: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/chat")).status_code == 200
        received: list[str] = []
        for text in texts:
            sent = await client.post("/chat/send", json={"text": text})
            assert sent.status_code == 200, sent.text
            for _ in range(40):
                data = (await client.get(f"/chat/messages?after={len(received)}")).json()
                received += [m["text"] for m in data["messages"]]
                if len(received) >= texts.index(text) + 1:
                    break
        return received


async def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(600):
            assert process.poll() is None, "rumourbot run exited"
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("rumourbot run did not start")


@pytest.mark.skipif(
    os.environ.get("RUMOURBOT_TEST_DATABASE") == "postgres",
    reason="uses its own SQLite file shared by three processes; it runs in the SQLite run",
)
async def test_two_chats_and_a_chat_beside_run_lose_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    db = Database(db_url)
    await db.migrate()
    await db.dispose()
    script = tmp_path / "resident.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    port = free_port()
    log = (tmp_path / "run.log").open("wb")
    server = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
        [RUMOURBOT, "run"], env=_env(db_url, RUMOURBOT_PORT=str(port)), stdout=log, stderr=log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_healthy(url, server)
        web_texts = [
            f"Is it true that market number {n} closes tomorrow for repairs?" for n in range(1, 5)
        ]
        first, second, web = await asyncio.gather(
            _chat(script, _env(db_url)), _chat(script, _env(db_url)), _web_chat(url, web_texts)
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    for turns in (first, second):
        assert [t["turn"] for t in turns] == list(range(1, 8))
        assert all(t["replies"] for t in turns), [t for t in turns if not t["replies"]]
        assert turns[0]["decision"]["outcome"] == "queue"
        assert "city's team" in turns[0]["replies"][0]["text"]
        assert turns[3]["resident"]["topics"] == ["health"]  # the button pressed: Health
        assert turns[5]["replies"][0]["buttons"][0]["label"] == "Yes, delete"
        assert turns[6]["resident"] == {"exists": False}
    assert len(web) >= len(web_texts)
    assert sum("city's team" in text for text in web) == len(web_texts)
