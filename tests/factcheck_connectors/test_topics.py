"""Topics are the city's configuration: a TOML file with labels per language; imports with a
topic outside it are refused with a message that names the city's topics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.runtime.cli import app as cli
from bot.texts.catalogue import TOPICS, topic_label
from domain.settings import get_settings
from domain.topics import DEFAULT_TOPICS, Topics, TopicsInvalid, city_topics, load, use_topics

FLOODS = """
[topics.water]
sw = "Maji safi"

[topics.floods]
en = "Floods"
sw = "Mafuriko"
"""


@pytest.fixture
def floods_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A city whose topics file lists water and floods, read through the settings."""
    path = tmp_path / "topics.toml"
    path.write_text(FLOODS, encoding="utf-8")
    monkeypatch.setenv("RUMOURBOT_TOPICS_FILE", str(path))
    get_settings.cache_clear()
    use_topics(None)
    yield path
    get_settings.cache_clear()
    use_topics(None)


def test_without_a_file_the_six_built_in_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    use_topics(None)
    assert tuple(city_topics()) == DEFAULT_TOPICS == tuple(TOPICS)
    assert topic_label("health", "sw") != "health"  # the catalogue's label


def test_a_topics_file_with_labels_per_language(floods_city: Path) -> None:
    assert list(TOPICS) == ["water", "floods"] and "health" not in TOPICS
    assert topic_label("floods", "sw") == "Mafuriko"
    assert topic_label("floods", "ar") == "Floods"  # no Arabic label: English
    assert topic_label("water", "sw") == "Maji safi"  # the file's label wins
    assert topic_label("water", "en") == "Water and power"  # else the catalogue's
    assert city_topics().find(" Floods ") == "floods" and city_topics().find("crime") is None
    assert load(None).names == DEFAULT_TOPICS
    assert load_text('topics = ["a", "b-2"]', floods_city.parent).names == ("a", "b-2")


def load_text(text: str, tmp: Path) -> Topics:
    path = tmp / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return load(str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topics = 3", "expected `topics = [...]`"),
        ("topics = []", "between 1 and"),
        ('topics = ["Bad Name"]', "lowercase letters"),
        ("[topics.x]\nen = 3", "labels of 'x'"),
        ("topics = [", "topics"),
    ],
)
def test_an_unusable_topics_file_says_why(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(TopicsInvalid, match=re.escape(message)):
        load_text(text, tmp_path)
    with pytest.raises(TopicsInvalid, match="cannot be read"):
        load("/nonexistent/topics.toml")


def test_cli_import_with_an_unknown_topic_is_refused(
    floods_city: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUMOURBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    rows = tmp_path / "items.csv"
    rows.write_text(
        "claim,verdict,topic\nThe river will flood the market tonight,false,floods\n"
        "Vaccines at the clinic are fake this week,false,health\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", str(rows)])
    assert result.exit_code == 2
    assert "unknown topic 'health'; this city's topics are: water, floods" in result.output
    rows.write_text(
        "claim,verdict,topic\nThe river will flood the market tonight,false,floods\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", str(rows)])
    assert result.exit_code == 0 and "imported 1 new or changed items" in result.output
