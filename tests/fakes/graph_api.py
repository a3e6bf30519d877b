"""A fake WhatsApp Cloud API (Graph API) on loopback, and Meta-shaped signed webhooks.

`POST /{version}/{phone_number_id}/messages` with `Authorization: Bearer <token>` records the
JSON body and answers like Meta: `{"messaging_product", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid..."}]}`, or an error `{"error": {"message", "type", "code",
"error_data": {"messaging_product", "details"}, "error_subcode"?, "fbtrace_id"}}`.
uvicorn runs in its own thread and loop, so the bot under test never shares a loop with it.

The webhook builders produce payloads shaped like the examples in Meta's "messages webhook
reference" (object / entry[].changes[].value with messaging_product, metadata, contacts,
messages or statuses) and sign the exact bytes with HMAC-SHA256, like Meta does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.http_server import LoopbackServer

TOKEN = "EAAFakeSystemUserTokenForTestsOnly"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
VERSION = "v21.0"

ERRORS: dict[int, tuple[int, str, str]] = {  # code -> (HTTP status, title, details)
    131047: (400, "Re-engagement message", "Message failed to send because more than 24 hours "
             "have passed since the customer last replied to this number."),
    131050: (400, "Unable to deliver the message. This recipient has chosen to stop receiving "
             "marketing messages on WhatsApp from your business", "User opted out of marketing"),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Too many messages sent from this phone number to the same phone number."),
    80007: (400, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    131026: (400, "Message Undeliverable", "Unable to deliver message."),
    131009: (400, "Parameter value is not valid", ""),
    190: (401, "Access token has expired", "Error validating access token."),
}


@dataclass
class Failure:
    code: int
    to: str | None = None  # only for this recipient
    times: int = 1


@dataclass(frozen=True)
class Sent:
    to: str
    body: dict[str, Any]
    wamid: str

    @property
    def type(self) -> str:
        return str(self.body.get("type"))

    @property
    def text(self) -> str:
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "image":
            return str(self.body["image"].get("caption", ""))
        return ""


class FakeGraphAPI:
    """Records every message sent; `fail(code)` makes the next matching send fail like Meta."""

    def __init__(self, phone_number_id: str = PHONE_NUMBER_ID, token: str = TOKEN) -> None:
        self.phone_number_id, self.token = phone_number_id, token
        self.sent: list[Sent] = []
        self.requests = 0
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._http: LoopbackServer | None = None
        self.port = 0
        self.media: dict[str, tuple[str, bytes]] = {}  # media id -> (mime type, content)
        self.media_url_seconds = 300.0  # Meta: "URLs are valid for 5 minutes"
        self.media_requests: list[str] = []
        self._media_urls: dict[str, tuple[str, float]] = {}  # url token -> (media id, expiry)
        self._pairs: tuple[float, float] | None = None  # (seconds per message, burst)
        self._pair_tokens: dict[str, tuple[float, float]] = {}  # to -> (tokens, at)
        self.refused: Counter[int] = Counter()  # Meta's error code -> times

    def limit_pairs(self, seconds: float = 6.0, burst: float = 45.0) -> None:
        """Refuse, as Meta does (131056), a message to someone who had too many just before:
        one message per `seconds` to the same person, with bursts of up to `burst`."""
        self._pairs = (seconds, burst)

    def _pair_refused(self, to: str) -> bool:
        if self._pairs is None:
            return False
        seconds, burst = self._pairs
        now = time.monotonic()
        with self._lock:
            tokens, at = self._pair_tokens.get(to, (burst, now))
            tokens = min(burst, tokens + (now - at) / seconds)
            refused = tokens < 1.0
            self._pair_tokens[to] = (tokens if refused else tokens - 1.0, now)
            if refused:
                self.refused[131056] += 1
        return refused

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, code: int, to: str | None = None, times: int = 1) -> None:
        with self._lock:
            self._failures.append(Failure(code, to, times))

    def sent_to(self, to: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to == to]

    async def wait_for(self, to: str, count: int, within: float = 10.0) -> list[Sent]:
        """The messages sent to `to` once there are at least `count` (or after `within` s)."""
        deadline = time.monotonic() + within
        # the server records from its own thread: poll rather than share an asyncio.Event
        while len(self.sent_to(to)) < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return self.sent_to(to)

    def add_media(self, content: bytes, mime_type: str) -> str:
        """Make `content` downloadable under a new media id (what a webhook would carry)."""
        media_id = str(1_000_000_000_000_000 + next(self._ids))
        with self._lock:
            self.media[media_id] = (mime_type, content)
        return media_id

    # -- the server ----------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"]),
            Route("/media-download/{token}", self._media_download, methods=["GET"]),
            Route("/{version}/{media_id}", self._media_info, methods=["GET"]),
        ])

    async def _media_info(self, request: Request) -> Response:
        """`GET /{version}/{media-id}`: `{"messaging_product", "url", "mime_type", "sha256",
        "file_size", "id"}` with a URL that needs the same token and expires."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(190)
        media_id = request.path_params["media_id"]
        with self._lock:
            self.media_requests.append(media_id)
            found = self.media.get(media_id)
        if found is None:
            return self._error(100, "Unsupported get request. Object with ID does not exist.")
        mime, content = found
        token = base64.urlsafe_b64encode(hashlib.sha256(
            f"{media_id}{time.monotonic()}".encode()).digest()[:12]).decode()
        with self._lock:
            self._media_urls[token] = (media_id, time.monotonic() + self.media_url_seconds)
        return JSONResponse({
            "messaging_product": "whatsapp", "url": f"{self.url}/media-download/{token}",
            "mime_type": mime, "sha256": hashlib.sha256(content).hexdigest(),
            "file_size": len(content), "id": media_id})

    async def _media_download(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(status_code=401)
        with self._lock:
            media_id, expires = self._media_urls.get(request.path_params["token"], ("", 0.0))
            found = self.media.get(media_id)
        if found is None or time.monotonic() > expires:
            return Response(status_code=404)  # an expired URL: ask for a new one
        return Response(found[1], media_type=found[0])

    async def _messages(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(190)
        if request.path_params["phone_id"] != self.phone_number_id:
            return self._error(100, "Unsupported post request. Object with ID does not exist.")
        try:
            body = await request.json()
        except ValueError:
            return self._error(100, "Invalid JSON")
        to = body.get("to") if isinstance(body, dict) else None
        if not isinstance(to, str) or body.get("messaging_product") != "whatsapp":
            return self._error(100, "(#100) The parameter messaging_product is required.")
        problem = invalid(body)
        if problem is not None:
            return self._error(131009, f"Parameter value is not valid: {problem}")
        failure = self._take_failure(to)
        if failure is not None:
            return self._error(failure)
        if self._pair_refused(to):
            return self._error(131056)
        wamid = "wamid." + base64.b64encode(f"fake-{next(self._ids)}-{to}".encode()).decode()
        with self._lock:
            self.sent.append(Sent(to, body, wamid))
        message: dict[str, Any] = {"id": wamid}
        if body.get("type") == "template":
            message["message_status"] = "accepted"
        return JSONResponse({"messaging_product": "whatsapp",
                             "contacts": [{"input": to, "wa_id": to}], "messages": [message]})

    def _take_failure(self, to: str) -> int | None:
        with self._lock:
            for failure in self._failures:
                if failure.to in (None, to):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure.code
        return None

    @staticmethod
    def _error(code: int, message: str | None = None) -> Response:
        status, title, details = ERRORS.get(code, (400, "Invalid parameter", ""))
        details = message or details
        error: dict[str, Any] = {
            "message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or title},
            "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv",
        }
        if code == 190:
            error["error_subcode"] = 463
        return JSONResponse({"error": error}, status_code=status)

    def start(self) -> FakeGraphAPI:
        self._http = LoopbackServer(self.app(), "fake-graph-api")
        self.port = self._http.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()

    def __enter__(self) -> FakeGraphAPI:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def invalid(body: dict[str, Any]) -> str | None:
    """What Meta would reject in a message body (the documented limits), or None."""
    kind = body.get("type")
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        return None if 0 < len(text) <= 4096 else "text body length"
    if kind == "template":
        template = body.get("template", {})
        ok = template.get("name") and template.get("language", {}).get("code")
        params = [p for c in template.get("components", []) for p in c.get("parameters", [])]
        if any("\n" in p.get("text", "") or "\t" in p.get("text", "") for p in params):
            return "template parameters cannot contain new lines or tabs"
        return None if ok else "template name and language"
    if kind == "image":  # by link (Meta fetches it) or by an uploaded media id
        image = body.get("image", {})
        link = str(image.get("link", ""))
        if not (link.startswith("https://") or link.startswith("http://") or image.get("id")):
            return "image link or id"
        return None if len(image.get("caption", "")) <= 1024 else "image caption length"
    if kind != "interactive":
        return f"unsupported type {kind}"
    interactive = body.get("interactive", {})
    if not 0 < len(interactive.get("body", {}).get("text", "")) <= 1024:
        return "interactive body length"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = [b["reply"] for b in action.get("buttons", [])]
        titles = [b["title"] for b in buttons]
        if not 0 < len(buttons) <= 3 or any(not 0 < len(t) <= 20 for t in titles):
            return "reply buttons"
        return None if len(set(titles)) == len(titles) else "button titles must be unique"
    rows = [r for section in action.get("sections", []) for r in section.get("rows", [])]
    if not 0 < len(rows) <= 10 or not 0 < len(action.get("button", "")) <= 20:
        return "list rows or button"
    if any(len(r["title"]) > 24 or len(r.get("description", "")) > 72 for r in rows):
        return "list row title or description"
    return None


# -- webhooks, shaped like Meta's documented examples ------------------------------------------
_wamids = itertools.count(1)


def new_wamid() -> str:
    return "wamid." + base64.b64encode(f"HBgLinbound{next(_wamids):06d}".encode()).decode()


def envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER,
                         "phone_number_id": phone_number_id},
            **value,
        }, "field": "messages"}]}],
    }


def message_payload(wa_id: str, kind: str, content: dict[str, Any], *, name: str = "Amina",
                    context: dict[str, Any] | None = None, wamid: str | None = None,
                    timestamp: int | None = None,
                    phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    """One incoming message from `wa_id`: `content` is the object under the `kind` key."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid or new_wamid(),
                               "timestamp": str(timestamp or int(time.time())), "type": kind}
    if context is not None:
        message["context"] = context
    if content:
        message[kind] = content
    return envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                     "messages": [message]}, phone_number_id)


def text_payload(wa_id: str, body: str, *, forwarded: bool = False, frequently: bool = False,
                 **kwargs: Any) -> dict[str, Any]:
    context = None
    if forwarded or frequently:
        context = {"frequently_forwarded": True} if frequently else {"forwarded": True}
    return message_payload(wa_id, "text", {"body": body}, context=context, **kwargs)


def image_payload(wa_id: str, caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
    image = {"mime_type": "image/jpeg", "sha256": "u5Xqc2XsOXYfJbb2uLePk0OFxlgHHbxTz4pYtfu94Lw=",
             "id": "1003383421387256"}
    if caption is not None:
        image["caption"] = caption
    return message_payload(wa_id, "image", image, **kwargs)


def media_payload(wa_id: str, kind: str, media_id: str, mime_type: str, *,
                  caption: str | None = None, voice: bool = False,
                  **kwargs: Any) -> dict[str, Any]:
    """An image, audio (a voice note when `voice`), video or document message."""
    body: dict[str, Any] = {"mime_type": mime_type, "id": media_id,
                            "sha256": "u5Xqc2XsOXYfJbb2uLePk0OFxlgHHbxTz4pYtfu94Lw="}
    if caption is not None and kind != "audio":
        body["caption"] = caption
    if kind == "audio":
        body["voice"] = voice
    return message_payload(wa_id, kind, body, **kwargs)


def button_reply_payload(wa_id: str, button_id: str, title: str, reply_to: str) -> dict[str, Any]:
    return message_payload(wa_id, "interactive", {
        "type": "button_reply", "button_reply": {"id": button_id, "title": title}},
        context={"from": DISPLAY_NUMBER, "id": reply_to})


def list_reply_payload(wa_id: str, row_id: str, title: str, reply_to: str) -> dict[str, Any]:
    return message_payload(wa_id, "interactive", {
        "type": "list_reply", "list_reply": {"id": row_id, "title": title, "description": ""}},
        context={"from": DISPLAY_NUMBER, "id": reply_to})


def template_button_payload(wa_id: str, payload: str, text: str, reply_to: str) -> dict[str, Any]:
    return message_payload(wa_id, "button", {"payload": payload, "text": text},
                           context={"from": DISPLAY_NUMBER, "id": reply_to})


def status_payload(wamid: str, recipient: str, status: str,
                   error_code: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                             "recipient_id": recipient}
    if status in ("sent", "delivered"):
        entry["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if error_code is not None:
        _status, title, details = ERRORS.get(error_code, (400, "Error", "Error"))
        entry["errors"] = [{"code": error_code, "title": title, "message": title,
                            "error_data": {"details": details},
                            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
    return envelope({"statuses": [entry]})


def encode(payload: Any) -> bytes:
    """Bytes as Meta sends them: compact JSON with non-ASCII escaped."""
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
