"""`rumourbot check --file` and `rumourbot attach-media`, as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.runtime.cli import app as cli
from domain.settings import get_settings
from tests.conftest import EMBEDDER
from tests.media import samples


@pytest.fixture
def operator(db_url: str, tmp_path: Path, whisper_model: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    for name, value in {"DATABASE_URL": db_url, "MEDIA_DIR": str(tmp_path / "media"),
                        "WHISPER_MODEL_DIR": str(whisper_model), "DEMO_DATA": "false",
                        "EMBEDDER": EMBEDDER}.items():
        monkeypatch.setenv(f"RUMOURBOT_{name}", value)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_check_file_reads_a_photo_and_a_copy_attached_to_an_item_is_answered(
        operator: CliRunner, tmp_path: Path) -> None:
    rows = tmp_path / "items.csv"
    rows.write_text("claim,verdict,explanation,source_url\n"
                    "Lions walk in the market tonight,false,No animal left the park.,"
                    "https://example.org/fc/lions\n")
    assert operator.invoke(cli, ["import", str(rows)]).exit_code == 0
    rumour = samples.notice("en", "Lions escaped from the park and walk in the market", seed=8)
    original, copy = tmp_path / "notice.png", tmp_path / "forwarded.jpg"
    original.write_bytes(samples.png(rumour))
    copy.write_bytes(samples.degraded(rumour, scale=0.5))
    attached = operator.invoke(cli, ["attach-media", "1", "--file", str(original)])
    assert attached.exit_code == 0, attached.output
    result = operator.invoke(cli, ["check", "--file", str(copy), "--language", "en"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["kind"] == "image" and "Lions" in found["ocr_text"]
    assert found["decision"] == "answer" and found["answer"] == "1"
    assert found["known"]["item"] == 1 and found["seconds"] > 0 and len(found["phashes"]) == 1


def test_check_file_refuses_a_file_that_is_not_media(operator: CliRunner,
                                                     tmp_path: Path) -> None:
    lying = tmp_path / "voice.ogg"
    lying.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = operator.invoke(cli, ["check", "--file", str(lying)])
    assert result.exit_code == 2 and json.loads(result.output)["error"] == "unsupported_media"
