"""What the panel uses of the process it runs in (the runtime's `Services` has all of it).

Views read `panel.services`: the settings and the database; the two search indexes, to search
and to refresh after staff changed what they hold; the dispatcher, woken after a commit that
queued messages; the flood guard, to lift a block; the channels, to fetch a resident's
attachment; `items_written`, after the Sources page ran a connector. The same object goes to
publishing and broadcasts, which need a part of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from bot.conversation.publishing import PublishingServices

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.conversation.flood import FloodGuard


class PanelServices(PublishingServices, Protocol):
    @property
    def flood(self) -> FloodGuard | None: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    async def items_written(self) -> None:
        """The knowledge base changed (the Sources page ran a connector): refresh the index."""
