"""A small web chat page: talk to the bot from a browser without Telegram or WhatsApp.

Messages go through the same conversation and outbox as every channel; replies land in a
`CollectingChannel`, which the page polls.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.channels.collecting import CollectingChannel
from bot.conversation.core import Conversation
from bot.conversation.language import from_accept_language
from domain.messages import InboundMessage

COOKIE = "rumourbot_chat"
PAGE = Path(__file__).with_name("templates") / "webchat.html"
MAX_BODY = 64_000


class WebChat:
    """Routes for the page, sending a message or a button press, and polling replies."""

    def __init__(self, conversation: Conversation, outbox: CollectingChannel) -> None:
        self.conversation = conversation
        self.outbox = outbox

    def routes(self) -> list[Route]:
        return [
            Route("/chat", self.page, methods=["GET"]),
            Route("/chat/send", self.send, methods=["POST"]),
            Route("/chat/messages", self.messages, methods=["GET"]),
        ]

    async def page(self, request: Request) -> Response:
        response = HTMLResponse(PAGE.read_text(encoding="utf-8"))
        if COOKIE not in request.cookies:
            response.set_cookie(COOKIE, secrets.token_urlsafe(16), httponly=True, samesite="strict")
        return response

    async def send(self, request: Request) -> Response:
        chat_id = request.cookies.get(COOKIE)
        if not chat_id:
            return JSONResponse({"error": "open /chat first"}, status_code=400)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "message too large"}, status_code=413)
        try:
            data = await request.json()
        except ValueError:
            return JSONResponse({"error": "expected JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        text, button = data.get("text"), data.get("button")
        message = InboundMessage(
            channel=self.outbox.name,
            sender=chat_id,
            message_id=uuid.uuid4().hex,
            text=text if isinstance(text, str) else "",
            callback_data=button if isinstance(button, str) else None,
            forwarded=bool(data.get("forwarded")),
            language_hint=from_accept_language(request.headers.get("accept-language")),
        )
        await self.conversation.handle(message)
        return JSONResponse({"ok": True})

    async def messages(self, request: Request) -> Response:
        chat_id = request.cookies.get(COOKIE, "")
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            after = 0
        sent = await self.outbox.wait_for(chat_id, after + 1, timeout=10.0) if chat_id else []
        return JSONResponse(
            {
                "messages": [
                    {
                        "text": m.text,
                        "buttons": [{"label": b.label, "data": b.data} for b in m.buttons],
                        "language": m.language,
                    }
                    for m in sent[after:]
                ],
                "next": len(sent),
            }
        )
