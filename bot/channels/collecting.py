"""A channel that records what would be sent: for the local web/terminal chat and for tests."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

from bot.channels.base import UNKNOWN, Channel, Recipient
from domain.messages import OutboundMessage


class CollectingChannel(Channel):
    """Keeps sent messages per chat and lets readers wait for new ones (Rasa's collecting
    output channel: the ready-made fake, and the web and terminal chats' output half)."""

    def __init__(self, name: str = "webchat") -> None:
        self.name = name
        self.sent: dict[str, list[OutboundMessage]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        async with self._changed:
            self.sent[message.chat_id].append(message)
            self._changed.notify_all()
        return str(next(self._ids))

    async def wait_for(
        self,
        chat_id: str,
        count: int,
        timeout: float = 15.0,  # noqa: ASYNC109 - a polling helper: the wait is the point
    ) -> list[OutboundMessage]:
        """The chat's messages once there are at least `count` of them (or after `timeout`)."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.sent[chat_id]) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            pass
        return list(self.sent[chat_id])

    def forget_chat(self, chat_id: str) -> None:
        self.sent.pop(chat_id, None)
