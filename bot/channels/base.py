"""The outbound interface every channel implements, and the errors it may raise."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from starlette.requests import ClientDisconnect, Request

from domain.messages import OutboundMessage


class ChannelError(Exception):
    """Base of channel errors."""


class DeliveryFailed(ChannelError):
    """A send did not go through; `retry_after` (seconds) when the platform asked us to wait."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


@runtime_checkable
class OutboundChannel(Protocol):
    """What the core sends through. `send` is the one method a channel must implement."""

    name: str

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver `message`; return the platform's message id. Raise `DeliveryFailed`."""
        ...


class TextChannel:
    """Base for channels without buttons: choices become numbered lines of text."""

    name = "text"

    async def send_text(self, chat_id: str, text: str) -> str | None:
        raise NotImplementedError  # subclasses implement the one required method

    async def send(self, message: OutboundMessage) -> str | None:
        return await self.send_text(message.chat_id, message.as_plain_text())


async def acknowledge_button(channel: OutboundChannel, callback_id: str | None) -> None:
    """Tell the platform a button press was handled, when the channel has such a call."""
    ack = getattr(channel, "acknowledge_button", None)
    if callback_id and ack is not None:
        await ack(callback_id)


async def read_body_limited(request: Request, limit: int) -> bytes | None:
    """A webhook's raw body, or None as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    try:
        async for part in request.stream():
            body += part
            if len(body) > limit:
                return None
    except ClientDisconnect:
        return b""
    return bytes(body)
