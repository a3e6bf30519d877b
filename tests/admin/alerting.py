"""Set-up shared by the spike-alert tests: a fake SMTP server on loopback (aiosmtpd) and the
settings that send staff alerts to a Telegram chat on the fake Bot API and to a duty inbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from domain.settings import Settings
from tests.fakes.telegram_api import FakeTelegram

DUTY_EMAIL = "duty@city.example.org"
PUBLIC = "https://panel.city.example.org"


class Inbox:
    """An SMTP server's handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A fake SMTP server on a free loopback port: its inbox and the port."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def alert_settings(
    settings: Settings, fake: FakeTelegram, smtp_port: int, staff_chat: str, **extra: Any
) -> Settings:
    """`settings` alerting `staff_chat` through `fake` and the duty inbox on `smtp_port`."""
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(fake.token),
            "telegram_api_url": fake.api_url,
            "alert_telegram_chat": staff_chat,
            "alert_email_to": DUTY_EMAIL,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "public_url": PUBLIC,
            **extra,
        }
    )
