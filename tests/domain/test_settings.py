"""Every setting is documented in the README, and settings come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented_in_readme(field: str) -> None:
    assert f"`RUMOURBOT_{field.upper()}`" in README.read_text(encoding="utf-8")


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
