"""The Telegram channel: PTB's `Application` for both halves.

Input: in polling mode (development) PTB's updater fetches updates and one `TypeHandler` turns
each into an `InboundMessage`; in webhook mode (production) the route authenticates the secret
header and parses the `Update` with PTB. Both hand the message to `Conversation.accept`, which
stores it durably and handles it in the background: Telegram gets its 200 at once, and one slow
turn (a cluster refresh, say) does not hold up the next resident's update.
Output: `send` renders an `OutboundMessage` through `Bot.send_message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import ReplyParameters, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import UNKNOWN, Channel, ChannelError, Recipient, read_body_limited
from bot.channels.telegram_parse import CHANNEL, inbound_from_update
from bot.channels.telegram_send import (
    chat_admin,
    keyboard,
    send_rich,
    split_text,
    translated_errors,
)
from bot.media.errors import MediaTooLarge, MediaUnavailable
from domain.db import StorageUnavailable
from domain.messages import Media, OutboundMessage
from domain.settings import Settings
from domain.text import InvalidText

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.conversation.services import Services

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 256_000  # a real update is a few kB; captions and texts are capped at 4096
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds a getUpdates long poll may wait
STORAGE_RETRY_SECONDS = (1, 2, 5, 10, 30, 60, 120)  # polling, while the database is down
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


class TelegramConfigError(ChannelError):
    """The Telegram settings cannot work (for example webhook mode without a secret)."""


def from_settings(services: Services, conversation: Conversation) -> TelegramChannel | None:
    """The channel when a token is set and the mode is not `off`; None otherwise."""
    settings = services.settings
    if settings.telegram_token is None or settings.telegram_effective_mode == "off":
        return None
    return TelegramChannel(settings, conversation)


def webhook_url(settings: Settings) -> str:
    """Where Telegram posts updates: the configured URL, or our public URL plus the route."""
    return settings.telegram_webhook_url or settings.public_url.rstrip("/") + WEBHOOK_PATH


class TelegramChannel(Channel):
    """One bot account: polling or webhook input, `send` and `acknowledge_button` output."""

    name = CHANNEL

    def __init__(self, settings: Settings, conversation: Conversation) -> None:
        assert settings.telegram_token is not None  # noqa: S101 - from_settings checked it
        self.mode = settings.telegram_effective_mode
        self.conversation = conversation
        self._secret = _webhook_secret(settings) if self.mode == "webhook" else None
        self._webhook_url = webhook_url(settings)
        self._max_photo_bytes = settings.media_max_image_bytes
        builder = (Application.builder().token(settings.telegram_token.get_secret_value())
                   .base_url(settings.telegram_api_url).base_file_url(settings.telegram_file_url))
        if self.mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    # -- lifecycle ---------------------------------------------------------------------------
    async def _initialize(self) -> None:
        """`Application.initialize`; when it fails (a rejected token, no network), the HTTP
        clients it opened are closed, so a retry starts clean."""
        try:
            await self.application.initialize()
        except Exception:
            for request in getattr(self.application.bot, "_request", ()):
                with contextlib.suppress(Exception):
                    await request.shutdown()
            raise

    async def start_receiving(self) -> None:
        """The bot, and its input: polling, or registering the webhook."""
        app = self.application
        await self._initialize()
        await app.start()
        if self.mode == "webhook":
            assert self._secret is not None  # noqa: S101 - checked in __init__
            await app.bot.set_webhook(self._webhook_url, secret_token=self._secret,
                                      allowed_updates=ALLOWED_UPDATES)
            log.info("telegram webhook set")
        elif app.updater is not None:
            await app.updater.start_polling(timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES)
            log.info("telegram polling started")

    async def start_sending(self) -> None:
        """A worker's start: the bot for sending only; no polling, no setWebhook."""
        await self._initialize()
        await self.application.start()
        log.info("telegram sending ready")

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    # -- input -------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        if self.mode != "webhook":
            return []
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> Response:
        """Authenticate by the secret header, parse, then store and handle the update in one
        transaction before answering (a turn that fails is stored and apologised for; the
        database down is a 503, so Telegram delivers again)."""
        given = request.headers.get(SECRET_HEADER, "")
        if self._secret is None or not hmac.compare_digest(given.encode(), self._secret.encode()):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        body = await read_body_limited(request, MAX_UPDATE_BYTES)
        if body is None:
            return JSONResponse({"error": "update too large"}, status_code=413)
        update = self._parse(body)
        if update is None:
            return JSONResponse({"error": "malformed update"}, status_code=400)
        try:
            inbound = inbound_from_update(update, self.name, self._max_photo_bytes)
        except (InvalidText, AttributeError, TypeError, ValueError):  # null chat, odd fields
            return JSONResponse({"error": "malformed update"}, status_code=400)
        if inbound is None:
            return Response(status_code=200)  # not for us (an edit, a group): never redelivered
        try:  # stored with the turn's replies in one transaction, then acknowledged
            await self.conversation.answer_before_acknowledging(inbound)
        except StorageUnavailable:
            return JSONResponse({"error": "try again later"}, status_code=503)  # Telegram retries
        return Response(status_code=200)

    def _parse(self, body: bytes) -> Update | None:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return None
            return Update.de_json(data, self.application.bot)
        except Exception:  # noqa: BLE001 - any malformed update (deep nesting, dates past 9999)
            return None

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            inbound = inbound_from_update(update, self.name, self._max_photo_bytes)
        except (InvalidText, AttributeError, TypeError, ValueError) as exc:
            log.warning("malformed Telegram update skipped (%s)", type(exc).__name__)
            return
        if inbound is None:
            return
        for delay in STORAGE_RETRY_SECONDS:  # polling already confirmed the update: keep trying
            try:
                await self.conversation.accept(inbound)  # stored; handled in the background
                return
            except StorageUnavailable:
                log.warning("database unavailable; retrying a Telegram update in %ss", delay)
                await asyncio.sleep(delay)
        log.error("database unavailable; Telegram message %s dropped", inbound.message_id)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update handling failed: %s", type(context.error).__name__,
                  exc_info=context.error)

    # -- output ------------------------------------------------------------------------------
    def parts(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> int:
        return len(split_text(message.text))

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        """Send `message` (split over 4096 characters; buttons on the last part)."""
        if message.image is not None or message.edits is not None:  # a card, or a correction
            return await send_rich(self.application.bot, message)
        chunks = split_text(message.text)
        markup = keyboard(message.buttons)
        reply = _reply_parameters(message.reply_to)
        sent_id: str | None = None
        async with translated_errors():
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                sent = await self.application.bot.send_message(
                    chat_id=message.chat_id, text=chunk, reply_markup=markup if last else None,
                    reply_parameters=reply if i == 0 else None)
                sent_id = str(sent.message_id)
        return sent_id

    async def is_group_admin(self, chat_id: str, user_id: str) -> bool:
        return await chat_admin(self.application.bot, chat_id, user_id)

    async def acknowledge_button(self, callback_id: str) -> None:
        async with translated_errors():
            await self.application.bot.answer_callback_query(callback_id)

    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The bytes of a file a resident sent, through getFile; refused over `max_bytes`
        before downloading when Telegram tells the size."""
        if media.size is not None and media.size > max_bytes:
            raise MediaTooLarge(f"{media.size} bytes")
        try:
            file = await self.application.bot.get_file(media.ref)
            if file.file_size is not None and file.file_size > max_bytes:
                raise MediaTooLarge(f"{file.file_size} bytes")
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:  # expired or unknown file id, "file is too big", outage
            raise MediaUnavailable(type(exc).__name__) from exc


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret
    if secret is None or not SECRET_PATTERN.fullmatch(secret.get_secret_value()):
        raise TelegramConfigError(
            "Telegram webhook mode needs RUMOURBOT_TELEGRAM_WEBHOOK_SECRET "
            "(1-256 characters: A-Z, a-z, 0-9, _ and -)")
    return secret.get_secret_value()


def _reply_parameters(reply_to: str | None) -> ReplyParameters | None:
    if not reply_to:
        return None
    message_id = reply_to.rsplit(":", 1)[-1]  # accepts "chat:message" ids as well
    if not message_id.isdigit():
        return None
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)

