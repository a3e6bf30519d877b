"""A fake Telegram Bot API server on loopback, speaking the real wire format.

`POST /bot<token>/<method>` with form-encoded (what PTB sends: strings as-is, everything else
JSON-encoded), JSON or query parameters; answers `{"ok": true, "result": ...}` with objects
shaped like the documented Bot API ones, or `{"ok": false, "error_code", "description"}` with
the same HTTP status. Files download from `/file/bot<token>/<file_path>`.

It runs uvicorn in its own thread and event loop, so the bot under test and the server never
share a loop (a blocked bot cannot hide a slow server, and the reverse). When a webhook is set,
pushed updates are POSTed to it with the secret header, one at a time, like Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.http_server import LoopbackServer
from tests.fakes.telegram_updates import TelegramUpdates

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijkl"
BOT_ID = 123456789
JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "entities",
               "link_preview_options", "caption_entities"}
INT_FIELDS = {"offset", "limit", "timeout", "message_id", "max_connections", "user_id"}
WEBHOOK_ATTEMPTS = 60
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
DEFAULT_ALLOWED = None  # every update type except chat_member, message_reaction, ...


@dataclass
class Bucket:
    """A token bucket on the server's clock: our model of Telegram's flood control."""

    rate: float
    burst: float
    tokens: float = 0.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a message may go now, else the seconds until it may."""
        if self.at == 0.0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class Failure:
    """An error to answer instead of the next call(s) of a method."""

    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    times: int = 1


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        return json.loads(value)
    if name in INT_FIELDS or (name == "chat_id" and value.lstrip("-").isdigit()):
        return int(value)
    if value in ("true", "false") and name not in {"text", "caption", "data"}:
        return value == "true"
    return value


def _update_type(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")


class FakeTelegram(TelegramUpdates):
    """The server plus what it saw: updates waiting, messages sent, calls made."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Rumourbot",
                         "username": "rumourbot_test_bot", "can_join_groups": False,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(100_000)
        self.port = 0
        self._http: LoopbackServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._webhook_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._stopping = False
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything seen (between tests sharing one server)."""
        with self._lock:
            self.pending: list[dict[str, Any]] = []
            self.sent: list[dict[str, Any]] = []
            self.calls: list[tuple[str, dict[str, Any]]] = []
            self.files: dict[str, tuple[str, bytes]] = {}
            self.failures: list[Failure] = []
            self.webhook: dict[str, Any] | None = None
            self.webhook_responses: list[tuple[int, int]] = []  # (update_id, status)
            self.allowed_updates: list[str] | None = DEFAULT_ALLOWED
            self.pushed_at: dict[int, float] = {}  # perf_counter() when pushed
            self.flood: Bucket | None = None
            self.chat_flood: dict[str, Bucket] = {}
            self.chat_limit: tuple[float, float] | None = None
            self.too_many: list[dict[str, Any]] = []  # sends refused with 429 by flood control
            self.on_send: Callable[[dict[str, Any]], None] | None = None
            self.webhook_retry_seconds = 0.5
            self.random_failure: tuple[str, float, random.Random] | None = None
            self.random_failures = 0
            self.delivered_at: dict[int, float] = {}  # first returned by getUpdates / POSTed
            self.chat_admins: dict[str, set[int]] = {}  # group chat id -> administrators' ids
            self.edits: list[dict[str, Any]] = []  # editMessageText / editMessageCaption calls

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For `base_url` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> FakeTelegram:
        self._http = LoopbackServer(self.app(), "fake-telegram", on_loop=self._bind_loop,
                                    background=self._webhook_worker)
        self.port = self._http.start()
        return self

    def stop(self) -> None:
        self._stopping = True  # a long poll still open ends now, not at its timeout
        if self._loop is not None and self._arrived is not None:
            self._loop.call_soon_threadsafe(self._notify)
        if self._http is not None:
            self._http.stop()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._arrived = asyncio.Event()
        self._webhook_queue = asyncio.Queue()

    # -- test-side helpers -------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> int:
        """Make an update available: to getUpdates, or POSTed to the webhook when one is set."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        with self._lock:
            self.pushed_at[update["update_id"]] = time.perf_counter()
            webhook = self.webhook
            if webhook is None:
                self.pending.append(update)
        assert self._loop is not None
        if webhook is not None:
            assert self._webhook_queue is not None
            self._loop.call_soon_threadsafe(self._webhook_queue.put_nowait, update)
        else:
            self._loop.call_soon_threadsafe(self._notify)
        return int(update["update_id"])

    def fail_next(self, method: str, error_code: int, description: str,
                  retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with this error."""
        with self._lock:
            self.failures.append(Failure(method, error_code, description, retry_after, times))

    def fail_randomly(self, method: str, rate: float, seed: int = 0) -> None:
        """Answer a share `rate` of `method` calls with 429 (retry after 1 s) or a 5xx."""
        with self._lock:
            self.random_failure = (method, rate, random.Random(seed))

    def _random_failure(self, method: str) -> Failure | None:
        if self.random_failure is None or self.random_failure[0] != method:
            return None
        _method, rate, rng = self.random_failure
        if rng.random() >= rate:
            return None
        self.random_failures += 1
        return rng.choice([Failure(method, 429, "Too Many Requests: retry after 1", 1),
                           Failure(method, 502, "Bad Gateway"),
                           Failure(method, 500, "Internal Server Error")])

    def enforce_limits(self, per_second: float = 30.0, burst: float = 10.0,
                       per_chat_per_second: float = 1.0, per_chat_burst: float = 3.0) -> None:
        """Refuse sends over these rates with 429 and `retry_after`, as Telegram does.

        Telegram documents only "about 30 messages per second" overall and "one per second" in
        a chat; a token bucket tolerating a third of a second of jitter is our model of that.
        """
        with self._lock:
            self.flood = Bucket(per_second, burst)
            self.chat_limit = (per_chat_per_second, per_chat_burst)
            self.chat_flood = {}

    def _flood_wait(self, chat_id: str) -> float:
        now = time.monotonic()
        with self._lock:
            if self.flood is None or self.chat_limit is None:
                return 0.0
            chat = self.chat_flood.setdefault(chat_id, Bucket(*self.chat_limit))
            return max(chat.take(now), self.flood.take(now))

    def sent_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.sent if str(m["chat_id"]) == str(chat_id)]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    async def wait_for_messages(self, chat_id: int | str, n: int,
                                timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """The chat's sent messages once there are at least `n` (or all there are at `timeout`).

        Polls: the server records messages on its own thread and loop, not the caller's.
        """
        deadline = time.monotonic() + timeout
        while len(found := self.sent_to(chat_id)) < n and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return found

    def add_file(self, content: bytes, file_path: str | None = None) -> str:
        file_id = f"AgACAgQAAxkBAAI{next(self._ids):06d}"
        with self._lock:
            self.files[file_id] = (file_path or f"photos/file_{len(self.files)}.jpg", content)
        return file_id

    # -- the server --------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
        ])

    def _notify(self) -> None:
        assert self._arrived is not None
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        with self._lock:
            self.calls.append((method, params))
            failure = self._take_failure(method) or self._random_failure(method)
        if failure is not None:
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.error_code, failure.description, extra)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = await handler(params)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    def _take_failure(self, method: str) -> Failure | None:
        for failure in self.failures:
            if failure.method == method:
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["file_path"]
        with self._lock:
            content = next((c for p, c in self.files.values() if p == path), None)
        if content is None:
            return _error(404, "Not Found")
        return Response(content, media_type="application/octet-stream")

    # -- methods -----------------------------------------------------------------------------
    async def _m_getme(self, _params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
        offset, limit = params.get("offset", 0), min(max(params.get("limit", 100), 1), 100)
        deadline = time.monotonic() + max(params.get("timeout", 0), 0)
        if "allowed_updates" in params:  # remembered until changed, as on the real server
            self.allowed_updates = params["allowed_updates"] or DEFAULT_ALLOWED
        while True:
            assert self._arrived is not None
            arrived = self._arrived
            ready = self._ready(offset, limit)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping:
                now = time.perf_counter()
                with self._lock:
                    for u in ready:
                        self.delivered_at.setdefault(u["update_id"], now)
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), remaining)

    def _ready(self, offset: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            if offset:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            allowed = self.allowed_updates
            return [u for u in self.pending
                    if allowed is None or _update_type(u) in allowed][:limit]

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if "chat_id" not in params:
            return _error(400, "Bad Request: chat_id is empty")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if _units(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        wait = self._flood_wait(str(params["chat_id"]))
        if wait > 0:
            with self._lock:
                self.too_many.append({"chat_id": params["chat_id"], "at": time.perf_counter()})
            retry_after = max(1, int(wait + 0.999))
            return _error(429, f"Too Many Requests: retry after {retry_after}",
                          {"retry_after": retry_after})
        record = {"message_id": next(self._ids), "chat_id": params["chat_id"], "text": text,
                  "reply_markup": markup, "reply_parameters": params.get("reply_parameters"),
                  "date": int(time.time()), "at": time.perf_counter()}
        with self._lock:
            self.sent.append(record)
            on_send = self.on_send
        if on_send is not None:  # a test's hook: the platform has the message, no answer yet
            on_send(record)
        return self._message_object(record)

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        """A photo by URL (what we send: the card's public link) with an optional caption."""
        photo, caption = str(params.get("photo", "")), params.get("caption")
        if "chat_id" not in params:
            return _error(400, "Bad Request: chat_id is empty")
        if not photo.startswith(("http://", "https://")):
            return _error(400, "Bad Request: wrong remote file identifier specified")
        if caption is not None and _units(str(caption)) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        record = {"message_id": next(self._ids), "chat_id": params["chat_id"],
                  "text": str(caption or ""), "photo": photo,
                  "reply_markup": params.get("reply_markup"),
                  "reply_parameters": params.get("reply_parameters"),
                  "date": int(time.time()), "at": time.perf_counter()}
        with self._lock:
            self.sent.append(record)
        message = self._message_object(record)
        message.pop("text")
        message["photo"] = [{"file_id": f"photo-{record['message_id']}", "file_unique_id":
                             f"p{record['message_id']}", "width": 1080, "height": 1080}]
        if caption:
            message["caption"] = caption
        return message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "text")

    async def _m_editmessagecaption(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "caption")

    def _edit(self, params: dict[str, Any], field_name: str) -> Any:
        with self._lock:
            found = next((m for m in self.sent if str(m["chat_id"]) == str(params.get("chat_id"))
                          and m["message_id"] == params.get("message_id")), None)
            if found is None:
                return _error(400, "Bad Request: message to edit not found")
            if (field_name == "caption") != ("photo" in found):
                return _error(400, "Bad Request: there is no caption in the message to edit"
                              if field_name == "caption" else
                              "Bad Request: there is no text in the message to edit")
            new = str(params.get(field_name, ""))
            if new == found["text"]:
                return _error(400, "Bad Request: message is not modified")
            found["text"] = new
            self.edits.append({"chat_id": found["chat_id"], "message_id": found["message_id"],
                               field_name: new})
        message = self._message_object(found)
        if field_name == "caption":
            message["caption"] = message.pop("text")
        return message

    async def _m_getchatmember(self, params: dict[str, Any]) -> Any:
        chat, user_id = str(params.get("chat_id", "")), params.get("user_id")
        user_id = int(user_id) if str(user_id).isdigit() else None
        if user_id is None:
            return _error(400, "Bad Request: invalid user_id specified")
        user = {"id": user_id, "is_bot": False, "first_name": "Member"}
        if user_id not in self.chat_admins.get(chat, set()):
            return {"status": "member", "user": user}
        rights = dict.fromkeys(
            ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
             "can_manage_video_chats", "can_restrict_members", "can_promote_members",
             "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
             "can_delete_stories"), False)
        return {"status": "administrator", "user": user, **rights, "can_manage_chat": True}

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired "
                               "or query ID is invalid")
        return True

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        with self._lock:
            found = self.files.get(str(params.get("file_id", "")))
        if found is None:
            return _error(400, "Bad Request: invalid file_id")
        path, content = found
        if len(content) > BOT_DOWNLOAD_LIMIT:
            return _error(400, "Bad Request: file is too big")
        return {"file_id": params["file_id"], "file_unique_id": f"u{abs(hash(path)) % 10**8}",
                "file_size": len(content), "file_path": path}

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url", "")
        if not url:
            return await self._m_deletewebhook(params)
        with self._lock:
            self.webhook = {"url": url, "secret_token": params.get("secret_token"),
                            "allowed_updates": params.get("allowed_updates")}
            if params.get("drop_pending_updates"):
                self.pending = []
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self.pending = []
        return True

    async def _m_getwebhookinfo(self, _params: dict[str, Any]) -> Any:
        with self._lock:
            hook, pending = self.webhook, len(self.pending)
        info: dict[str, Any] = {"url": hook["url"] if hook else "", "has_custom_certificate": False,
                                "pending_update_count": pending}
        if hook and hook.get("allowed_updates"):
            info["allowed_updates"] = hook["allowed_updates"]
        return info

    async def _webhook_worker(self) -> None:
        assert self._webhook_queue is not None
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                update = await self._webhook_queue.get()
                hook = self.webhook
                if hook is None:
                    continue
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                with self._lock:
                    self.delivered_at.setdefault(update["update_id"], time.perf_counter())
                for _attempt in range(WEBHOOK_ATTEMPTS):  # Telegram retries until a 2xx
                    try:
                        response = await client.post(hook["url"], content=json.dumps(update),
                                                     headers=headers)
                        status = response.status_code
                    except httpx.HTTPError:
                        status = 0
                    with self._lock:
                        self.webhook_responses.append((update["update_id"], status))
                    if 200 <= status < 300:
                        break
                    await asyncio.sleep(self.webhook_retry_seconds)


async def _params(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        raw.update(body if isinstance(body, dict) else {})
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    return {name: _coerce(name, value) for name, value in raw.items()}


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


@contextlib.contextmanager
def running_fake(token: str = TOKEN) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(token).start()
    try:
        yield fake
    finally:
        fake.stop()
