"""The one contract every channel implements, and what crosses it.

A channel is one platform's two halves (Rasa's input and output channels in one class):
input is `routes()` (webhooks) and `start_receiving()` (polling, registering a webhook); output
is `start_sending()`, `send()`, `acknowledge_button()` and `download()`. Only `send` is
required; everything else has a default that does nothing, or says the channel cannot.

Channels do not read or write the database. The dispatcher tells `send` what it knows of the
recipient (`Recipient`: when they last wrote, whether they opted out) and records what the
channel reports: a `DeliveryResult` from `report()`, and `Receipt`s a channel hands to its
receipt sink (delivered, read, failed; "this person opted out"; "the platform's window is
closed").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import ClientDisconnect, Request
from starlette.routing import BaseRoute

from bot.media.errors import MediaUnavailable
from domain.messages import Media, OutboundMessage
from domain.outbox import DeliveryResult, Throttle


class ChannelError(Exception):
    """Base of channel errors."""


class DeliveryFailed(ChannelError):
    """A send did not go through.

    `retry_after` (seconds) when the platform asked us to wait; `permanent` when trying again
    cannot help; `throttled` when a platform limit was hit (tried again later, not counted as
    a failed attempt); `opted_out` when the platform says the resident stopped our messages.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False,
                 throttled: Throttle | None = None, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent
        self.throttled = throttled
        self.opted_out = opted_out


@dataclass(frozen=True)
class Recipient:
    """What the dispatcher knows of the person a message goes to, when it sends it."""

    last_inbound_at: datetime | None = None  # when they last wrote (None: never, or unknown)
    opted_out: bool = False
    now: datetime | None = None  # the dispatcher's clock (None: the channel reads the time)

    def wrote_within(self, span: timedelta, now: datetime) -> bool:
        """True when they last wrote less than `span` before `now`."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < span


UNKNOWN = Recipient()




@dataclass(frozen=True)
class Receipt:
    """A platform's word on a message we sent earlier (WhatsApp's status webhooks)."""

    platform_message_id: str
    status: str  # sent, delivered, read, failed
    chat_id: str
    opted_out: bool = False  # the failure says the resident stopped our messages
    window_closed: bool = False  # the failure says only a template may reach them now


ReceiptSink = Callable[[str, list[Receipt]], Awaitable[None]]  # (channel name, receipts)


class Channel:
    """Base class of channels. Subclasses set `name` and implement `send`."""

    name: str = "channel"

    # -- input ---------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """Webhook routes mounted on the web app (none by default)."""
        return []

    async def start_receiving(self) -> None:
        """Start both halves (a web or all-in-one process): by default, sending only."""
        await self.start_sending()

    # -- output --------------------------------------------------------------------------
    async def start_sending(self) -> None:
        """Start the output half alone (a worker: no polling, no webhook registration)."""

    async def stop(self) -> None:
        """Release what either start opened."""

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        """Deliver `message`; return the platform's message id. Raise `DeliveryFailed`."""
        raise NotImplementedError

    def parts(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> int:
        """How many platform messages `send` makes of `message` (the dispatcher paces them)."""
        return 1

    async def report(
        self, message: OutboundMessage, recipient: Recipient = UNKNOWN
    ) -> DeliveryResult:
        """`send`, with its outcome as a value the dispatcher records."""
        try:
            platform_id = await self.send(message, recipient)
        except DeliveryFailed as exc:
            return DeliveryResult(ok=False, error=str(exc), retry_after=exc.retry_after,
                                  permanent=exc.permanent, throttled=exc.throttled,
                                  opted_out=exc.opted_out)
        return DeliveryResult(ok=True, platform_message_id=platform_id)

    async def acknowledge_button(self, callback_id: str) -> None:
        """Tell the platform a button press was handled (nothing to do by default)."""

    # -- files ---------------------------------------------------------------------------
    @property
    def can_download(self) -> bool:
        """True when this channel overrides `download`."""
        return type(self).download is not Channel.download

    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The bytes of an attachment a resident sent. Raises `MediaUnavailable` by default."""
        raise MediaUnavailable(f"the {self.name} channel cannot download files")


class TextChannel(Channel):
    """Base for channels without buttons: `send_text` is the one method to implement, and
    choices become numbered lines of text."""

    name = "text"

    async def send_text(self, chat_id: str, text: str) -> str | None:
        raise NotImplementedError  # subclasses implement the one required method

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        return await self.send_text(message.chat_id, message.as_plain_text())


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
