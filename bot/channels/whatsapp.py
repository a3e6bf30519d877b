"""The WhatsApp channel on the official WhatsApp Business Cloud API.

Input: `GET /whatsapp/webhook` answers Meta's verification handshake; `POST` checks
`X-Hub-Signature-256` over the raw body, stores each message durably through
`Conversation.accept` (once per wamid: Meta retries) and answers 200, or 503 when the database
is down so Meta delivers again; messages and receipts are handled in the background.
Output: `send` renders an `OutboundMessage` as free-form messages inside the 24-hour
customer-service window and as a pre-approved template outside it; the dispatcher says when the
resident last wrote and whether they opted out. Meta's error codes become `DeliveryFailed`
(throttled: retry later; permanent; opted out), and delivery receipts become `Receipt`s handed
to the dispatcher's sink. The channel itself reads and writes no database.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import whatsapp_render as render
from bot.channels.base import (
    UNKNOWN,
    Channel,
    DeliveryFailed,
    Receipt,
    ReceiptSink,
    Recipient,
    read_body_limited,
)
from bot.channels.whatsapp_parse import (
    CHANNEL,
    SIGNATURE_HEADER,
    StatusUpdate,
    inbound_messages,
    signature_valid,
    status_updates,
)
from bot.channels.whatsapp_send import OPT_OUT_CODES, REENGAGEMENT_CODES, GraphClient, GraphError
from domain.db import StorageUnavailable
from domain.messages import Media, OutboundMessage
from domain.models import utcnow
from domain.outbox import Throttle
from domain.settings import Settings

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.conversation.services import Services

log = logging.getLogger(__name__)
PATH = "/whatsapp/webhook"
MAX_BODY = 1_000_000
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=1)
PAIR_LIMIT_CODES = frozenset({131056})  # too many messages to this one person: that chat waits
SHUTDOWN_SECONDS = 10.0


class WhatsAppConfigError(ValueError):
    """WhatsApp is partly configured: the message says which setting is missing."""


@dataclass(frozen=True)
class WhatsAppConfig:
    phone_number_id: str
    app_secret: str
    verify_token: str
    templates: dict[str, str] = field(default_factory=dict)  # catalogue key -> template name
    template_language: str = "en"
    template_languages: dict[str, str] = field(default_factory=dict)  # our code -> Meta's code

    @classmethod
    def from_settings(cls, settings: Settings) -> WhatsAppConfig:
        secret, verify = settings.whatsapp_app_secret, settings.whatsapp_verify_token
        if secret is None or verify is None:
            missing = [f"RUMOURBOT_{name.upper()}" for name, value in
                       (("whatsapp_app_secret", secret), ("whatsapp_verify_token", verify))
                       if value is None]
            raise WhatsAppConfigError("WhatsApp also needs " + " and ".join(missing))
        templates = {"notify_answered": settings.whatsapp_template_answer,
                     "broadcast": settings.whatsapp_template_broadcast}
        return cls(
            phone_number_id=str(settings.whatsapp_phone_number_id),
            app_secret=secret.get_secret_value(),
            verify_token=verify.get_secret_value(),
            templates={key: name for key, name in templates.items() if name},
            template_language=settings.whatsapp_template_language,
            template_languages=_pairs(settings.whatsapp_template_languages),
        )

    def template_language_for(self, language: str | None) -> str:
        return self.template_languages.get(language or "", self.template_language)


class WhatsAppChannel(Channel):
    """Both halves of the WhatsApp channel for one business phone number."""

    name = CHANNEL

    def __init__(self, conversation: Conversation, config: WhatsAppConfig, graph: GraphClient,
                 receipts: ReceiptSink) -> None:
        self.conversation, self.config, self.graph = conversation, config, graph
        self.receipts = receipts
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- input ---------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [Route(PATH, self.webhook, methods=["GET", "POST"])]

    async def webhook(self, request: Request) -> Response:
        if request.method == "GET":
            return self.verify(request)
        return await self.receive(request)

    def verify(self, request: Request) -> Response:
        """Meta's handshake: echo `hub.challenge` when the verify token matches."""
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.config.verify_token.encode()):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        """Verify the signature over the raw body, acknowledge, and work in the background."""
        body = await read_body_limited(request, MAX_BODY)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        if not signature_valid(body, request.headers.get(SIGNATURE_HEADER), self.config.app_secret):
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return PlainTextResponse("expected JSON", status_code=400)
        try:
            for message in inbound_messages(payload, self.config.phone_number_id):
                await self.conversation.accept(message)  # stored durably, handled in background
        except StorageUnavailable:  # Meta delivers the webhook again later
            return PlainTextResponse("try again later", status_code=503,
                                     headers={"Retry-After": "5"})
        statuses = status_updates(payload, self.config.phone_number_id)
        if statuses:
            self._spawn(self._hand_over(statuses))
        return PlainTextResponse("ok")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every delivery receipt received so far has been recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _hand_over(self, statuses: list[StatusUpdate]) -> None:
        try:
            await self.receipts(self.name, [receipt(status) for status in statuses])
        except Exception:
            log.exception("could not record WhatsApp delivery receipts")

    # -- output --------------------------------------------------------------------------
    def window_open(self, recipient: Recipient) -> bool:
        """Inside the 24-hour customer-service window (with a minute to spare)."""
        return recipient.wrote_within(WINDOW - WINDOW_MARGIN, recipient.now or utcnow())

    def free_form(self, message: OutboundMessage, recipient: Recipient) -> bool:
        if message.as_template:
            return False
        return self.window_open(recipient) or message.answers_message_now

    def parts(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> int:
        return len(render.free_form(message)) if self.free_form(message, recipient) else 1

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        """Deliver `message`; returns the (first) wamid. Raises `DeliveryFailed`."""
        if self._closed:
            raise DeliveryFailed("the WhatsApp channel is stopping", retry_after=5.0)
        if recipient.opted_out and message.template is not None:
            raise DeliveryFailed("the resident opted out of notifications", permanent=True)
        if self.free_form(message, recipient):
            try:
                return await self._send_all(message.chat_id, render.free_form(message))
            except GraphError as exc:
                if exc.code not in REENGAGEMENT_CODES:
                    raise failure(exc) from exc
        return await self._send_template(message)

    async def _send_template(self, message: OutboundMessage) -> str:
        """Outside the 24-hour window only a pre-approved template may be sent."""
        name = self.config.templates.get(message.template or "")
        if name is None:
            kind = f"template {message.template!r}" if message.template else "a reply"
            raise DeliveryFailed(f"outside the 24-hour window and no WhatsApp template is "
                                 f"configured for {kind}", permanent=True)
        language = self.config.template_language_for(message.language)
        try:
            return await self._send_all(message.chat_id, [render.template(message, name, language)])
        except GraphError as exc:
            raise failure(exc) from exc

    async def _send_all(self, chat_id: str, bodies: list[render.Body]) -> str:
        """Each body in turn; the dispatcher has already paced all of them (`parts`)."""
        first = ""
        for body in bodies:
            wamid = await self.graph.send_message(chat_id, body)
            first = first or wamid
        return first

    # -- lifecycle -----------------------------------------------------------------------
    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The bytes of a resident's image, voice note, audio, video or document."""
        return await self.graph.download_media(media.ref, max_bytes)

    async def start_receiving(self) -> None:
        log.info("WhatsApp channel ready: webhook at %s", PATH)

    async def stop(self) -> None:
        """Finish recording the receipts already accepted, then close the HTTP client."""
        try:
            await asyncio.wait_for(self.idle(), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("WhatsApp webhooks still running at shutdown: %d", len(self._tasks))
        self._closed = True
        await self.graph.aclose()


def from_settings(services: Services, conversation: Conversation) -> WhatsAppChannel | None:
    """The channel when a token and a phone number id are set; None otherwise."""
    settings = services.settings
    if settings.whatsapp_access_token is None or not settings.whatsapp_phone_number_id:
        return None
    config = WhatsAppConfig.from_settings(settings)
    graph = GraphClient(settings.whatsapp_api_url, settings.whatsapp_api_version,
                        config.phone_number_id, settings.whatsapp_access_token.get_secret_value())
    return WhatsAppChannel(conversation, config, graph, services.dispatcher.record_receipts)


def failure(exc: GraphError) -> DeliveryFailed:
    """What a Graph API error means for the dispatcher."""
    throttled: Throttle | None = None
    if exc.rate_limited:
        throttled = "chat" if exc.code in PAIR_LIMIT_CODES else "channel"
    return DeliveryFailed(str(exc), retry_after=exc.wait_seconds, throttled=throttled,
                          permanent=exc.permanent or exc.code in REENGAGEMENT_CODES,
                          opted_out=exc.code in OPT_OUT_CODES)


def receipt(status: StatusUpdate) -> Receipt:
    """A status webhook entry as a receipt: a failure may say "opted out" or "window closed"."""
    codes = set(status.error_codes) if status.status == "failed" else set()
    return Receipt(status.message_id, status.status, status.recipient,
                   opted_out=bool(codes & OPT_OUT_CODES),
                   window_closed=bool(codes & REENGAGEMENT_CODES))


def _pairs(value: str) -> dict[str, str]:
    """"sw=sw,es=es_MX" -> {"sw": "sw", "es": "es_MX"}."""
    pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}
