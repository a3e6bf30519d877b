"""Every setting is documented in the README, and settings come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ENV_EXAMPLE = README.with_name(".env.example")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented_in_readme(field: str) -> None:
    assert f"`RUMOURBOT_{field.upper()}`" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_in_env_example_with_a_comment(field: str) -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    [at] = [n for n, line in enumerate(lines) if line.startswith(f"# RUMOURBOT_{field.upper()}=")]
    assert lines[at - 1].startswith("# ") and not lines[at - 1].startswith("# RUMOURBOT_")


def test_env_example_keeps_every_default() -> None:
    """Uncommenting a line of .env.example as it is changes nothing."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.removeprefix("# ").partition("=")
        if sep and name.startswith("RUMOURBOT_") and value:
            values[name.removeprefix("RUMOURBOT_").lower()] = value
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    uncommented = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    assert uncommented == defaults


def test_public_url_is_derived_from_host_and_port() -> None:
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8080"  # type: ignore[call-arg]
    wildcard = Settings(_env_file=None, host="0.0.0.0", port=9000)  # type: ignore[call-arg]
    assert wildcard.public_url == "http://127.0.0.1:9000"
    given = Settings(_env_file=None, public_url="https://tipline.example.org/")  # type: ignore[call-arg]
    assert given.public_url == "https://tipline.example.org"


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUMOURBOT_DATABASE_URL", "sqlite+aiosqlite:///elsewhere.db")
    monkeypatch.setenv("RUMOURBOT_TELEGRAM_TOKEN", "123:s3cr3t-token")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url.endswith("elsewhere.db")
    assert settings.telegram_effective_mode == "polling"
    assert "s3cr3t-token" not in repr(settings)


def test_webhook_mode_when_a_webhook_url_is_set() -> None:
    settings = Settings(
        _env_file=None,
        telegram_token="1:x",  # type: ignore[call-arg]
        telegram_webhook_url="https://bot.example.org/telegram/webhook",
    )
    assert settings.telegram_effective_mode == "webhook"
