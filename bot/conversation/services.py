"""The services a running bot is made of, built once per process from the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.flood import FloodGuard
from domain.db import Database
from domain.models import KnowledgeItem
from domain.settings import Settings
from nlu import IntentParser

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.conversation.indexes import ClusterIndex, KnowledgeIndex
    from bot.delivery.dispatcher import OutboxDispatcher


LiveLookup = Callable[["Services", AsyncSession, str, str | None], Awaitable[list[KnowledgeItem]]]


@dataclass
class Services:
    """Everything the conversation, the panel and the workers share inside one process."""

    settings: Settings
    db: Database
    knowledge: KnowledgeIndex
    clusters: ClusterIndex
    parser: IntentParser | None
    dispatcher: OutboxDispatcher
    redis: Redis | None = None
    flood: FloodGuard | None = None
    live_lookup: LiveLookup | None = None  # outside fact-check search for unmatched claims
    channels: dict[str, Channel] = field(default_factory=dict)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        self.dispatcher.channels[channel.name] = channel

    async def items_written(self) -> None:
        """Knowledge items were added or changed: search them from now on."""
        await self.knowledge.refresh()
