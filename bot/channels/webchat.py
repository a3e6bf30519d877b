"""A small web chat page: talk to the bot from a browser without Telegram or WhatsApp.

Messages go through the same conversation and outbox as every channel. Replies are read back
from the outbox (rows the dispatcher has sent), so any web process can serve any page with any
number of workers delivering; `WebChatOutbox` is the channel the dispatcher sends through (it
also keeps a short record in memory for the terminal chat and tests).

Identity: the server issues each browser a random chat id in a signed cookie (the key is
generated once and kept in the database, so every process shares it); an invented or altered
cookie is refused. Each client address may open only so many chats per hour and send only so
many messages per minute, whatever its cookies (`RUMOURBOT_WEBCHAT_*`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from bot.channels.base import UNKNOWN, Recipient, read_body_limited
from bot.channels.collecting import CollectingChannel
from bot.media.errors import MediaUnavailable
from bot.media.uploads import LocalUploads, refusal
from bot.texts.language import from_accept_language
from domain.db import Database, StorageUnavailable, is_unavailable
from domain.http import page_csp
from domain.messages import InboundMessage, Media, OutboundMessage
from domain.models import OutboxMessage, OutboxStatus, PanelSecret, utcnow
from domain.sql import insert_ignoring_duplicates
from domain.text import InvalidText

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.conversation.services import Services

COOKIE = "rumourbot_chat"
PAGE = Path(__file__).with_name("templates") / "webchat.html"
MAX_BODY = 64_000
UPLOAD_OVERHEAD = 64_000  # the caption and the multipart framing around the file
POLL_SECONDS = 10.0
POLL_STEP = 0.25
MAX_BATCH = 100
KEY_NAME = "webchat_cookie_key"
_MAX_AFTER = 2**31 - 1  # outbox ids are PostgreSQL `integer`


class _Chats(OrderedDict[str, list[OutboundMessage]]):
    """Messages per chat, least recently used first (so the oldest chats can be dropped)."""

    def __missing__(self, chat_id: str) -> list[OutboundMessage]:
        self[chat_id] = []
        return self[chat_id]


class WebChatOutbox(CollectingChannel):
    """The web chat's outbound channel: the page reads sent rows from the outbox, so `send`
    only records (a bounded memory for the terminal chat and tests) and wakes local readers.

    The /forget confirmation is sent directly, after the resident and their rows are gone: it
    is written as a sent row of its own (no resident), so the page still shows it."""

    MAX_CHATS = 500
    MAX_PER_CHAT = 100

    def __init__(self, db: Database | None = None, name: str = "webchat",
                 uploads: LocalUploads | None = None) -> None:
        super().__init__(name)
        self.db = db
        self.uploads = uploads
        self.sent = _Chats()
        self.changed = asyncio.Event()

    async def send(self, message: OutboundMessage, recipient: Recipient = UNKNOWN) -> str | None:
        if message.answers_message_now:  # /forget: nothing of what was said stays here either
            kept = self.sent[message.chat_id]
            kept[:] = [OutboundMessage(message.chat_id, "") for _ in kept]  # counts stay
            await self._store_direct(message)
        sent_id = await super().send(message, recipient)
        self._trim(message.chat_id)
        self.changed.set()
        return sent_id

    async def download(self, media: Media, max_bytes: int) -> bytes:
        """The bytes of a file uploaded on the page (the media worker asks, like any channel)."""
        if self.uploads is None:
            raise MediaUnavailable("uploads are not kept by this process")
        return await self.uploads.download(media, max_bytes)

    def _trim(self, chat_id: str) -> None:
        sent = self.sent
        assert isinstance(sent, _Chats)  # noqa: S101 - set in __init__
        sent.move_to_end(chat_id)
        del sent[chat_id][: -self.MAX_PER_CHAT]
        while len(sent) > self.MAX_CHATS:
            sent.popitem(last=False)

    async def _store_direct(self, message: OutboundMessage) -> None:
        if self.db is None:
            return
        now = utcnow()
        async with self.db.session() as session:
            session.add(
                OutboxMessage(
                    resident_id=None,
                    channel=self.name,
                    chat_id=message.chat_id,
                    payload=message.to_payload(),
                    status=OutboxStatus.SENT,
                    attempts=1,
                    next_attempt_at=now,
                    created_at=now,
                    sent_at=now,
                    priority=0,
                    kind="reply",
                )
            )


class WebChat:
    """Routes for the page, sending a message or a button press, and polling replies."""

    def __init__(
        self, services: Services, conversation: Conversation, outbox: WebChatOutbox
    ) -> None:
        self.services = services
        self.conversation = conversation
        self.outbox = outbox
        self._signer: Signer | None = None
        self.secure = services.settings.public_url.startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route("/chat", self.page, methods=["GET"]),
            Route("/chat/send", self.send, methods=["POST"]),
            Route("/chat/upload", self.upload, methods=["POST"]),
            Route("/chat/messages", self.messages, methods=["GET"]),
        ]

    # -- identity and limits ---------------------------------------------------------------
    async def signer(self) -> Signer:
        if self._signer is None:
            try:
                key = await self._key()
            except Exception as exc:
                if is_unavailable(exc):
                    raise StorageUnavailable("the database is unreachable") from exc
                raise
            self._signer = Signer(key, salt="rumourbot-webchat")
        return self._signer

    async def _key(self) -> str:
        """The cookie-signing key, generated once and shared by every process."""
        async with self.services.db.session() as session:
            await insert_ignoring_duplicates(
                session,
                PanelSecret.__table__,  # type: ignore[arg-type]
                {"name": KEY_NAME, "value": secrets.token_urlsafe(48), "created_at": utcnow()},
            )
            key = await session.scalar(
                select(PanelSecret.value).where(PanelSecret.name == KEY_NAME)
            )
        return str(key)

    async def chat_id(self, request: Request) -> str | None:
        """The chat id of a cookie this server issued; None for none or a forged one."""
        raw = request.cookies.get(COOKIE, "")
        if not raw or len(raw) > 200:
            return None
        try:
            value = (await self.signer()).unsign(raw.encode("utf-8", "replace")).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        return value if value.startswith("w") and len(value) <= 40 else None

    async def _allowed(self, request: Request, what: str, per_second: float, burst: float) -> bool:
        """A token bucket per client address (shared through Redis when configured)."""
        address = request.client.host if request.client is not None else "unknown"
        limiter = self.services.dispatcher.limiter
        wait = await limiter.acquire(f"webchat:{what}:{address}", per_second, burst, reserve=False)
        return wait <= 0

    # -- routes ----------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = PAGE.read_text(encoding="utf-8")
        largest = self.outbox.uploads.largest if self.outbox.uploads is not None else 0
        html = html.replace("MAX_UPLOAD_BYTES", str(largest))
        html = html.replace("<script>", f'<script nonce="{nonce}">').replace(
            "<style>", f'<style nonce="{nonce}">'
        )
        response = HTMLResponse(html, headers={"content-security-policy": page_csp(nonce)})
        if await self.chat_id(request) is None:
            settings = self.services.settings
            per_hour = settings.webchat_new_chats_per_hour_per_address
            if not await self._allowed(request, "new", per_hour / 3600.0, per_hour):
                return JSONResponse(
                    {"error": "too many new chats from your network; try again later"}, 429
                )
            chat = "w" + secrets.token_urlsafe(16)
            signed = (await self.signer()).sign(chat.encode()).decode()
            response.set_cookie(
                COOKIE,
                signed,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                max_age=30 * 24 * 3600,
            )
        return response

    async def send(self, request: Request) -> Response:
        chat_id = await self.chat_id(request)
        if chat_id is None:
            return JSONResponse({"error": "open /chat first"}, status_code=400)
        body = await read_body_limited(request, MAX_BODY)
        if body is None:
            return JSONResponse({"error": "message too large"}, status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return JSONResponse({"error": "expected JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        if not await self._within_message_limit(request):
            return JSONResponse(
                {"error": "too many messages from your network; wait a minute"}, 429
            )
        text, button = data.get("text"), data.get("button")
        try:
            message = InboundMessage(
                channel=self.outbox.name,
                sender=chat_id,
                message_id=uuid.uuid4().hex,
                text=text if isinstance(text, str) else "",
                callback_data=button if isinstance(button, str) else None,
                forwarded=data.get("forwarded") is True,
                language_hint=from_accept_language(request.headers.get("accept-language")),
            )
        except InvalidText as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        await self.conversation.handle(message)
        return JSONResponse({"ok": True})

    async def upload(self, request: Request) -> Response:
        """A photo, voice note or video from the page's file field (multipart: `file` and an
        optional `caption`), read by the same media pipeline as Telegram's and WhatsApp's.

        Same-origin only (the cookie is SameSite=strict; Origin and Sec-Fetch-Site must agree).
        The body is refused while it is read, as soon as it passes the largest file limit (the
        page sends at most one byte past it); the resident is then told, in their language,
        that the file is too big, as for an unreadable or unsupported file."""
        chat_id = await self.chat_id(request)
        if chat_id is None:
            return JSONResponse({"error": "open /chat first"}, status_code=400)
        if not same_origin(request, self.services.settings.public_url):
            return JSONResponse({"error": "uploads come from this page only"}, status_code=403)
        uploads = self.outbox.uploads
        if uploads is None:
            return JSONResponse({"error": "uploads are not available"}, status_code=503)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return JSONResponse({"error": "expected a file"}, status_code=400)
        if not await self._within_message_limit(request):
            return JSONResponse(
                {"error": "too many messages from your network; wait a minute"}, 429
            )
        body = await read_body_limited(request, uploads.largest + UPLOAD_OVERHEAD)
        if body is None:
            await self._deliver(request, chat_id, "", refusal("!too_large"))
            return JSONResponse({"ok": True, "refused": "too large"}, status_code=413)
        try:
            form = await with_body(request, body).form(max_files=1, max_fields=2)
        except (HTTPException, MultiPartException):
            return JSONResponse({"error": "expected a file"}, status_code=400)
        try:
            file, caption = form.get("file"), form.get("caption")
            if not isinstance(file, UploadFile):
                return JSONResponse({"error": "expected a file"}, status_code=400)
            data = await file.read()
            media = await asyncio.to_thread(uploads.accept, data, file.content_type)
        finally:
            await form.close()
        text = caption[: self.services.settings.max_message_chars] if isinstance(
            caption, str) else ""
        return await self._deliver(request, chat_id, text, media)

    async def _within_message_limit(self, request: Request) -> bool:
        per_minute = self.services.settings.webchat_messages_per_minute_per_address
        return await self._allowed(request, "send", per_minute / 60.0, per_minute)

    async def _deliver(self, request: Request, chat_id: str, text: str,
                       media: Media) -> Response:
        try:
            message = InboundMessage(
                channel=self.outbox.name,
                sender=chat_id,
                message_id=uuid.uuid4().hex,
                text=text,
                media=(media,),
                language_hint=from_accept_language(request.headers.get("accept-language")),
            )
        except InvalidText as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        await self.conversation.handle(message)
        return JSONResponse({"ok": True})

    async def messages(self, request: Request) -> Response:
        """Replies sent to this chat after outbox row `after`; waits up to 10 s for one."""
        chat_id = await self.chat_id(request)
        raw = request.query_params.get("after", "0")
        after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0
        after = min(after, _MAX_AFTER)
        rows: list[tuple[int, OutboundMessage]] = []
        if chat_id is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + POLL_SECONDS
            while True:
                self.outbox.changed.clear()
                rows = await self._sent_after(chat_id, after)
                if rows or loop.time() >= deadline:
                    break
                try:
                    await asyncio.wait_for(self.outbox.changed.wait(), POLL_STEP * 4)
                except TimeoutError:
                    pass
        return JSONResponse(
            {
                "messages": [
                    {
                        "text": m.text,
                        "buttons": [{"label": b.label, "data": b.data} for b in m.buttons],
                        "language": m.language,
                    }
                    for _, m in rows
                ],
                "next": rows[-1][0] if rows else after,
            }
        )

    async def _sent_after(self, chat_id: str, after: int) -> list[tuple[int, OutboundMessage]]:
        query = (
            select(OutboxMessage.id, OutboxMessage.payload)
            .where(
                OutboxMessage.channel == self.outbox.name,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.id > after,
            )
            .order_by(OutboxMessage.id)
            .limit(MAX_BATCH)
        )
        async with self.services.db.session() as session:
            found = (await session.execute(query)).all()
        return [(row_id, OutboundMessage.from_payload(payload)) for row_id, payload in found]


def same_origin(request: Request, public_url: str) -> bool:
    """Whether the browser says the request comes from our own pages (a browser always sends
    one of these headers on a POST from a page; a script outside a browser has no cookie)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc
    return netloc in (request.headers.get("host", ""), urlsplit(public_url).netloc)


def with_body(request: Request, body: bytes) -> Request:
    """`request` with its (already read, size-checked) body, for the form parser."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if given:
            return {"type": "http.disconnect"}
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)
