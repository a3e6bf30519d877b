"""HTTP rules every page the service serves follows, whichever part of it answers.

- `SecurityHeaders`: CSP (no inline script, no framing), X-Frame-Options, nosniff and
  Referrer-Policy on every response that does not set its own (the panel adds two more with
  the same middleware, the web chat sets a CSP with a per-response nonce).
- `BoundedInt`: the `{name:int}` route convertor matches only 0 .. 2**31 - 1 (our ids are
  PostgreSQL `integer`), so a larger id is "not found" instead of a database error.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
MAX_ID = 2**31 - 1  # PostgreSQL's `integer`, the type of every id column
# 0 .. 2147483647 as a regular expression (a convertor can only refuse by not matching)
_UP_TO_MAX_ID = (
    "0*(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]"
    "|214748364[0-7])"
)


def bounded_id(raw: str) -> int | None:
    """`raw` as an id, or None when it is not one (not digits, or past `MAX_ID`)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def page_csp(nonce: str) -> str:
    """The CSP of a page with inline script and style carrying `nonce`."""
    return CSP.replace("script-src 'self'", f"script-src 'self' 'nonce-{nonce}'").replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
    )


class SecurityHeaders:
    """Adds `headers` (`HEADERS` unless told) to every HTTP response that does not already
    carry them (pure ASGI); the panel passes its stricter list."""

    def __init__(self, app: ASGIApp, headers: Sequence[tuple[bytes, bytes]] = HEADERS) -> None:
        self.app = app
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(n, v) for n, v in self.headers if n not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


class BoundedInt(Convertor[int]):
    regex = _UP_TO_MAX_ID

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("int", BoundedInt())
