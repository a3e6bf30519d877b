"""A channel without buttons only implements `send_text`; choices arrive as numbered lines."""

from __future__ import annotations

from bot.channels.base import TextChannel
from domain.messages import Button, OutboundMessage


class SmsLikeChannel(TextChannel):
    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_text(self, chat_id: str, text: str) -> str | None:
        self.sent.append((chat_id, text))
        return str(len(self.sent))


async def test_buttons_degrade_to_numbered_text() -> None:
    channel = SmsLikeChannel()
    message = OutboundMessage("77", "Is it one of these?",
                              buttons=(Button("Water cut", "pick:1:2"), Button("None", "none:1")))
    assert await channel.send(message) == "1"
    assert channel.sent == [("77", "Is it one of these?\n\n1. Water cut\n2. None")]
