"""`rumourbot chat`: a line that is a local file's path (or `/file PATH`) sends that file as a
resident's attachment, through the same media pipeline as the platforms' files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.runtime.app import Runtime
from bot.runtime.terminal_chat import file_of, run_terminal_chat
from bot.runtime.wiring import build_services
from bot.texts.catalogue import text
from domain.db import Database
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.media import samples

DEMO_WATER = "The city will cut off all water supply for two weeks starting Monday."


def test_which_lines_are_files(tmp_path: Path) -> None:
    shot = tmp_path / "shot.jpg"
    shot.write_bytes(b"\xff\xd8\xff")
    assert file_of(str(shot)) == shot
    assert file_of(f"'{shot}'") == shot  # as a terminal pastes a dragged file
    assert file_of(f"/file {tmp_path}/missing.jpg") == tmp_path / "missing.jpg"
    assert file_of("The city will cut water") is None
    assert file_of(str(tmp_path)) is None  # a directory is not a file


async def test_files_from_the_terminal_are_read_or_refused(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    demo = settings.model_copy(update={"demo_data": True})
    runtime = Runtime(demo, services=build_services(demo, database, embedder, intent_parser))
    shot = tmp_path / "IMG-0001.jpg"
    shot.write_bytes(samples.degraded(samples.notice("en", DEMO_WATER), screenshot=True))
    lying = tmp_path / "notice.png"
    lying.write_text("#!/bin/sh\necho this is not a picture\n")
    script = [str(shot), f"/file {tmp_path / 'gone.jpg'}", str(lying)]
    turns = await run_terminal_chat(demo, script=script, as_json=True, language="en",
                                    runtime=runtime)
    assert turns == 3
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    answered, missing, refused = out
    assert answered["sent"] == {"file": str(shot)}
    [answer] = answered["replies"]
    assert answer["text"].startswith(f"❌ {text('verdict.false', 'en')}: "), answer
    assert "Eastlands" in answer["text"]
    assert answered["decision"]["outcome"] == "answer"
    assert [r["text"] for r in missing["replies"]] == [text("media_unreadable", "en")]
    assert [r["text"] for r in refused["replies"]] == [text("unsupported_media", "en")]
