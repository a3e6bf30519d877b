"""`rumourbot config check` on a safe and on an unsafe configuration, as an operator runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.runtime.cli import app as cli
from domain.settings import get_settings

STRONG = "k3P9-vQz7-Lm2x-Rt8w-Yb4n-Hc6d"


@pytest.fixture
def config_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)  # no stray .env

    def run(env: dict[str, str], *args: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return CliRunner().invoke(cli, ["config", "check", *args])

    yield run
    get_settings.cache_clear()


def test_a_safe_production_configuration(config_check: object, tmp_path: Path) -> None:
    (tmp_path / "sources.toml").write_text("", encoding="utf-8")
    result = config_check(  # type: ignore[operator]
        {
            "RUMOURBOT_DATABASE_URL": f"postgresql+asyncpg://bot:{STRONG}@db.internal/rumourbot",
            "RUMOURBOT_REDIS_URL": "redis://redis.internal:6379/0",
            "RUMOURBOT_PUBLIC_URL": "https://tipline.example-city.gov",
            "RUMOURBOT_TELEGRAM_TOKEN": "123456:AAF-real-looking-token",
            "RUMOURBOT_TELEGRAM_WEBHOOK_URL": "https://tipline.example-city.gov/telegram/webhook",
            "RUMOURBOT_TELEGRAM_WEBHOOK_SECRET": STRONG,
            "RUMOURBOT_ADMIN_SECRET_KEY": STRONG + STRONG,
        },
        "--web-processes",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert "database: PostgreSQL db.internal:5432/rumourbot" in result.output
    assert "telegram: webhook" in result.output and "redis: on" in result.output
    assert "panel signing key: from RUMOURBOT_ADMIN_SECRET_KEY" in result.output
    assert result.output.rstrip().endswith("Unsafe:\n  nothing")
    assert STRONG not in result.output


def test_an_unsafe_configuration_is_named_point_by_point(config_check: object) -> None:
    env = {
        "RUMOURBOT_DATABASE_URL": "postgresql+asyncpg://rumourbot:rumourbot@postgres/rumourbot",
        "RUMOURBOT_TELEGRAM_TOKEN": "123456:AAF-real-looking-token",
        "RUMOURBOT_WHATSAPP_ACCESS_TOKEN": "EAAG-real-looking-token",
        "RUMOURBOT_WHATSAPP_APP_SECRET": "changeme",
        "RUMOURBOT_DEMO_DATA": "true",
        "RUMOURBOT_ADMIN_SECRET_KEY": "secret",
    }
    result = config_check(env, "--web-processes", "2")  # type: ignore[operator]
    assert result.exit_code == 1, result.output
    unsafe = result.output.split("Unsafe:")[1]
    assert "RUMOURBOT_PUBLIC_URL is http while webhooks are on" in unsafe
    assert "telegram polling with 2 web processes" in unsafe
    assert "RUMOURBOT_DEMO_DATA is on" in unsafe
    assert "RUMOURBOT_ADMIN_SECRET_KEY is short or a default" in unsafe
    assert "RUMOURBOT_WHATSAPP_APP_SECRET is short or a default" in unsafe
    assert "the database password is short or a well-known default" in unsafe
    missing = result.output.split("Missing:")[1].split("Unsafe:")[0]
    assert "RUMOURBOT_REDIS_URL" in missing and "RUMOURBOT_WHATSAPP_VERIFY_TOKEN" in missing
    assert "sources file sources.toml" in missing
    assert "changeme" not in result.output and "AAF-real" not in result.output
    # The public URL was derived from host and port: that is what the report shows.
    assert "public address: http://127.0.0.1:8080" in result.output
