"""The output edge of the WhatsApp channel: one Graph API call and its errors (plus media
downloads, which go through the same client and token). Pacing is the dispatcher's.

`GraphClient.send_message` POSTs `/{version}/{phone_number_id}/messages` and returns the
`wamid`; failures become one `GraphError` carrying Meta's error code, so the channel decides
what a code means (retry later, opt the resident out, fall back to a template).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from bot.media.errors import MediaTooLarge, MediaUnavailable

# Meta error codes the channel reacts to (developers.facebook.com, WhatsApp Cloud API error codes)
OPT_OUT_CODES = frozenset({131050})  # the user stopped marketing messages from this business
REENGAGEMENT_CODES = frozenset({131047})  # more than 24 hours since the user last wrote
RATE_LIMIT_SECONDS = {
    130429: 5.0,  # Cloud API throughput reached
    131056: 60.0,  # too many messages to the same user (pair rate limit)
    80007: 60.0,  # WhatsApp Business Account rate limit
    4: 60.0,  # application request limit
}
PERMANENT_CODES = frozenset({
    100, 131008, 131009, 131021, 131026, 131051, 131052, 131053, 132000, 132001, 132005,
    132007, 132012, 132015, 132016, 133010,
})
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# the dispatcher keeps dozens of sends in flight at 80/s: keep their connections open
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
MEDIA_ID = re.compile(r"[0-9A-Za-z_.-]{1,128}")


class GraphError(Exception):
    """A failed Graph API call; `code` is Meta's error code (0 for network errors)."""

    def __init__(self, message: str, *, code: int = 0, status: int = 0,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.retry_after = code, status, retry_after

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_LIMIT_SECONDS or self.status == 429

    @property
    def permanent(self) -> bool:
        """Retrying the same request cannot succeed."""
        if self.code in OPT_OUT_CODES:
            return True
        if self.rate_limited:
            return False
        return self.code in PERMANENT_CODES or (400 <= self.status < 500 and self.code == 0)

    @property
    def wait_seconds(self) -> float | None:
        if self.retry_after is not None:
            return self.retry_after
        return RATE_LIMIT_SECONDS.get(self.code, 60.0) if self.rate_limited else None


class GraphClient:
    """POSTs messages for one business phone number."""

    def __init__(self, base_url: str, version: str, phone_number_id: str, token: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.api = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self.url = f"{self.api}/{phone_number_id}/messages"
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT, limits=LIMITS,
            transport=transport)

    async def send_message(self, to: str, body: dict[str, Any]) -> str:
        """Send one message to the WhatsApp user `to`; returns its `wamid`."""
        request = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   **body}
        try:
            response = await self._client.post(self.url, json=request)
        except httpx.HTTPError as exc:
            raise GraphError(f"network error: {type(exc).__name__}") from exc
        data = _json(response)
        if response.is_success:
            messages = data.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                return str(messages[0].get("id", ""))
            raise GraphError("response without a message id", status=response.status_code)
        raise _error(response, data)

    async def download_media(self, media_id: str, max_bytes: int) -> bytes:
        """A resident's media: `GET /{version}/{media-id}` gives a URL valid for five minutes,
        fetched at once with the same token (once more with a fresh URL if it has expired)."""
        for attempt in (1, 2):
            info = await self._media_info(media_id)
            size = info.get("file_size")
            if isinstance(size, int) and size > max_bytes:
                raise MediaTooLarge(f"{size} bytes")
            url = info.get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise MediaUnavailable("media info without a URL")
            try:
                return await self._read_limited(url, max_bytes)
            except MediaUnavailable:
                if attempt == 2:
                    raise
        raise MediaUnavailable("unreachable")  # pragma: no cover - the loop returns or raises

    async def _media_info(self, media_id: str) -> dict[str, Any]:
        if not MEDIA_ID.fullmatch(media_id):
            raise MediaUnavailable("not a media id")
        try:
            response = await self._client.get(f"{self.api}/{media_id}")
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"network error: {type(exc).__name__}") from exc
        if not response.is_success:
            raise MediaUnavailable(f"media info: HTTP {response.status_code}")
        return _json(response)

    async def _read_limited(self, url: str, max_bytes: int) -> bytes:
        try:
            async with self._client.stream("GET", url) as response:
                if not response.is_success:
                    raise MediaUnavailable(f"media download: HTTP {response.status_code}")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise MediaTooLarge(f"over {max_bytes} bytes")
                return bytes(data)
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"network error: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(response: httpx.Response, data: dict[str, Any]) -> GraphError:
    """`{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}`."""
    raw_error = data.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    code = error.get("code")
    code = code if isinstance(code, int) else 0
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    message = f"Graph API {response.status_code} code {code}: {error.get('message', '')}"
    if details:
        message += f" ({details})"
    retry_after = response.headers.get("retry-after", "")
    wait = float(retry_after) if retry_after.isdigit() else None
    return GraphError(message[:500], code=code, status=response.status_code, retry_after=wait)
