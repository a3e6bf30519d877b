"""The WhatsApp channel on the official WhatsApp Business Cloud API.

Input: `GET /whatsapp/webhook` answers Meta's verification handshake; `POST` checks
`X-Hub-Signature-256` over the raw body, stores each message durably through
`Conversation.accept` (once per wamid: Meta retries) and answers 200, or 503 when the database
is down so Meta delivers again; messages and receipts are handled in the background.
Output: `send` renders an `OutboundMessage` as free-form messages inside the 24-hour
customer-service window and as a pre-approved template outside it; Meta's error codes become
`DeliveryFailed` (retry later, or permanent), and opt-out codes mark the resident.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import whatsapp_render as render
from bot.channels.base import DeliveryFailed, read_body_limited
from bot.channels.whatsapp_parse import (
    CHANNEL,
    SIGNATURE_HEADER,
    StatusUpdate,
    inbound_messages,
    signature_valid,
    status_updates,
)
from bot.channels.whatsapp_send import (
    OPT_OUT_CODES,
    REENGAGEMENT_CODES,
    GraphClient,
    GraphError,
    RateLimiter,
    SharedLimiter,
)
from domain.db import StorageUnavailable
from domain.messages import Media, OutboundMessage
from domain.models import OutboxMessage, Resident, utcnow
from domain.outbox import record_delivery_status
from domain.settings import Settings

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.runtime.services import Services

log = logging.getLogger(__name__)
PATH = "/whatsapp/webhook"
MAX_BODY = 1_000_000
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=1)
STATUS_RANK = {"sent": 1, "delivered": 2, "failed": 2, "read": 3}
STATUS_RETRIES = (0.5, 1.0, 2.0)  # a receipt can arrive before the send call has returned
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


class WhatsAppChannel:
    """Both halves of the WhatsApp channel for one business phone number."""

    name = CHANNEL

    def __init__(self, services: Services, conversation: Conversation, config: WhatsAppConfig,
                 graph: GraphClient, limiter: RateLimiter) -> None:
        self.services, self.conversation, self.config = services, conversation, config
        self.graph, self.limiter = graph, limiter
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
            self._spawn(self._record_statuses(statuses))
        return PlainTextResponse("ok")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every delivery receipt received so far has been recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _record_statuses(self, statuses: list[StatusUpdate]) -> None:
        for status in statuses:
            try:
                await self._record_status(status)
            except Exception:
                log.exception("could not record a WhatsApp delivery status")

    async def _record_status(self, status: StatusUpdate) -> None:
        if status.status == "failed" and OPT_OUT_CODES & set(status.error_codes):
            await self._opt_out(status.recipient)
        for delay in (*STATUS_RETRIES, None):
            async with self.services.db.session() as session:
                current = await session.scalar(select(OutboxMessage.delivery_status).where(
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.platform_message_id == status.message_id))
                if STATUS_RANK.get(current or "", 0) > STATUS_RANK.get(status.status, 0):
                    return  # "delivered" arriving after "read"
                if await record_delivery_status(session, CHANNEL, status.message_id, status.status):
                    return
            if delay is not None:
                await asyncio.sleep(delay)

    # -- output --------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver `message`; returns the (first) wamid. Raises `DeliveryFailed`."""
        if self._closed:
            raise DeliveryFailed("the WhatsApp channel is stopping", retry_after=5.0)
        last_inbound, opted_out = await self._resident_state(message.chat_id)
        if opted_out and message.template is not None:
            raise DeliveryFailed("the resident opted out of notifications", permanent=True)
        window_open = last_inbound is not None and utcnow() - last_inbound < WINDOW - WINDOW_MARGIN
        if window_open or message.answers_message_now:
            try:
                return await self._send_all(message.chat_id, render.free_form(message))
            except GraphError as exc:
                if exc.code not in REENGAGEMENT_CODES:
                    raise await self._failed(message.chat_id, exc) from exc
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
            raise await self._failed(message.chat_id, exc) from exc

    async def _send_all(self, chat_id: str, bodies: list[render.Body]) -> str:
        first = ""
        for body in bodies:
            await self.limiter.acquire()
            wamid = await self.graph.send_message(chat_id, body)
            first = first or wamid
        return first

    async def _failed(self, chat_id: str, exc: GraphError) -> DeliveryFailed:
        if exc.code in OPT_OUT_CODES:
            await self._opt_out(chat_id)
        if exc.rate_limited:
            return DeliveryFailed(str(exc), retry_after=exc.wait_seconds)
        if exc.code in REENGAGEMENT_CODES:
            return DeliveryFailed(str(exc), permanent=True)
        return DeliveryFailed(str(exc), permanent=exc.permanent)

    async def _resident_state(self, chat_id: str) -> tuple[datetime | None, bool]:
        async with self.services.db.session() as session:
            row = (await session.execute(
                select(Resident.last_inbound_at, Resident.opted_out)
                .where(Resident.channel == CHANNEL, Resident.chat_id == chat_id))).first()
        return (row[0], bool(row[1])) if row is not None else (None, False)

    async def _opt_out(self, chat_id: str) -> None:
        async with self.services.db.session() as session:
            await session.execute(update(Resident).where(
                Resident.channel == CHANNEL, Resident.chat_id == chat_id).values(opted_out=True))

    # -- lifecycle -----------------------------------------------------------------------
    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The bytes of a resident's image, voice note, audio, video or document."""
        return await self.graph.download_media(media.ref, max_bytes)

    async def start(self) -> None:
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
    limiter = SharedLimiter(services.dispatcher.limiter, settings.whatsapp_messages_per_second)
    return WhatsAppChannel(services, conversation, config, graph, limiter)


def _pairs(value: str) -> dict[str, str]:
    """"sw=sw,es=es_MX" -> {"sw": "sw", "es": "es_MX"}."""
    pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}
