"""Which channels exist: built-in ones by name, third-party ones through entry points.

A channel module exposes `from_settings(services, conversation) -> Channel | None` that
returns None when the channel is not configured (no token, say). A channel subclasses
`bot.channels.base.Channel`: its routes and `start_receiving` (input), `start_sending`, `send`,
`acknowledge_button` and `download` (output), and `stop`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from bot.channels.base import Channel

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.conversation.services import Services

ENTRY_POINT_GROUP = "rumourbot.channels"
BUILTIN: dict[str, str] = {
    "telegram": "bot.channels.telegram:from_settings",
    "whatsapp": "bot.channels.whatsapp:from_settings",
}


Factory = Callable[["Services", "Conversation"], Channel | None]


def _load(target: str) -> Factory | None:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # not built into this installation
            return None
        raise
    factory: Factory = getattr(module, attribute)
    return factory


def factories() -> dict[str, Factory]:
    """Built-in channel factories, then any installed through the entry-point group."""
    found = {name: f for name, target in BUILTIN.items() if (f := _load(target)) is not None}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.load())
    return found


def configured_channels(services: Services, conversation: Conversation) -> list[Channel]:
    """Every channel whose settings are present."""
    channels = []
    for factory in factories().values():
        channel = factory(services, conversation)
        if channel is not None:
            channels.append(channel)
    return channels
