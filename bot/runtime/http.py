"""HTTP rules every page the service serves follows, whichever part of it answers.

- `SecurityHeaders`: CSP (no inline script, no framing), X-Frame-Options, nosniff and
  Referrer-Policy on every response that does not set its own (the panel sets stricter ones,
  the web chat a CSP with a per-response nonce).
- `BoundedInt`: the `{name:int}` route convertor matches at most 18 digits, so an id past
  PostgreSQL's bigint is "not found" instead of a database error.
"""

from __future__ import annotations

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
MAX_ID_DIGITS = 18  # 10**18 - 1 fits in a signed 64-bit integer


def page_csp(nonce: str) -> str:
    """The CSP of a page with inline script and style carrying `nonce`."""
    return CSP.replace("script-src 'self'", f"script-src 'self' 'nonce-{nonce}'").replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
    )


class SecurityHeaders:
    """Adds `HEADERS` to every HTTP response that does not already carry them (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(n, v) for n, v in HEADERS if n not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


class BoundedInt(Convertor[int]):
    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("int", BoundedInt())
