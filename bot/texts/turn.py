"""One inbound message being handled: the session, the resident, and how to reply."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import replies
from domain.messages import InboundMessage, OutboundMessage
from domain.models import OutboxKind, Resident
from domain.outbox import enqueue
from nlu import ParseResult


@dataclass
class Turn:
    """One inbound message being handled, with the resident and their reply language."""

    session: AsyncSession
    resident: Resident
    message: InboundMessage
    language: str
    after_commit: list[OutboundMessage] = field(default_factory=list)  # sent directly, not queued
    clusters_changed: bool = False
    knowledge_changed: bool = False
    media_queued: bool = False  # a file waits for the media worker
    forgotten_files: list[str] = field(default_factory=list)  # deleted once /forget commits
    first_contact: bool = False
    reading: ParseResult | None = None  # the intent parser's reading, once a handler asked
    notice: str | None = None  # added under this turn's first reply (the privacy notice)

    async def reply(self, message: OutboundMessage) -> None:
        if self.notice:
            message = replace(message, text=f"{message.text}\n\n{self.notice}")
            self.notice = None
        await enqueue(self.session, self.resident, message, OutboxKind.REPLY)

    async def say(self, key: str, **values: str) -> None:
        await self.reply(replies.plain(self.resident.chat_id, key, self.language, **values))

    async def quote(self, message: OutboundMessage) -> None:
        """Reply quoting the resident's message (channels that can quote show it)."""
        await self.reply(replace(message, reply_to=self.message.message_id))
