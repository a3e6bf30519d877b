"""What every connector is: one coroutine from a cursor to new items, and its two errors.

The network edge is `httpx.AsyncClient`; `get` below translates transport errors and HTTP
statuses into the two documented errors, so connectors stay small and a fake transport in the
tests is a single function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx

from domain.knowledge import ItemData

USER_AGENT = "rumourbot-connectors/0.1 (+https://github.com/rumourbot)"


class ConnectorError(Exception):
    """Base of the connector errors; the message is safe to show to staff."""


class SourceUnavailable(ConnectorError):
    """An expected outage (timeout, 5xx, 429): the runner retries later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceInvalid(ConnectorError):
    """Bad configuration or an unusable payload: retrying will not help."""


class AddressRefused(httpx.TransportError):
    """A hop of a fetch led to a loopback, private or otherwise internal address."""


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Connects only to public addresses, on every hop (redirects go through here too).

    The host is resolved once and the connection made to that checked address (TLS still
    verifies the name), so a name cannot resolve to a public address for the check and a
    private one for the connection. `allowed` lists `host` or `host:port` an operator lets
    through anyway (an intranet CMS): RUMOURBOT_CONNECTOR_PRIVATE_HOSTS."""

    def __init__(self, allowed: frozenset[str] = frozenset(), **options: Any) -> None:
        self.allowed = allowed
        self.inner = httpx.AsyncHTTPTransport(**options)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host, port = (
            request.url.host,
            request.url.port or (443 if request.url.scheme == "https" else 80),
        )
        if host in self.allowed or f"{host}:{port}" in self.allowed:
            return await self.inner.handle_async_request(request)
        address = await _public_address(host, port)
        request.extensions = {**request.extensions, "sni_hostname": host}
        request.url = request.url.copy_with(host=address)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _public_address(host: str, port: int) -> str:
    import asyncio
    import ipaddress
    import socket

    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpx.ConnectError(f"could not resolve {host}") from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise AddressRefused(
                f"{host} is a loopback, private or internal address; sources must be public "
                "(an operator may allow it with RUMOURBOT_CONNECTOR_PRIVATE_HOSTS)"
            )
    if not addresses:
        raise httpx.ConnectError(f"could not resolve {host}")
    return addresses[0]


@dataclass(frozen=True)
class FetchResult:
    items: list[ItemData]
    cursor: dict[str, Any]
    retired_external_ids: list[str] = field(default_factory=list)


class Connector(Protocol):
    kind: str

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult: ...


@dataclass(frozen=True)
class ConnectorSpec:
    """How the panel and the CLI describe a kind: its label and configuration fields."""

    kind: str
    label: str
    fields: tuple[str, ...]
    secret_fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    scheduled: bool = True  # False for sources that push to us


class ConnectorFactory(Protocol):
    """A connector class: a spec and a constructor from config that raises `SourceInvalid`."""

    spec: ClassVar[ConnectorSpec]

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> Connector: ...


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector may know about the process: settings it needs, never services."""

    google_api_key: str | None = None
    google_url: str = "https://factchecktools.googleapis.com/v1alpha1/claims:search"
    max_bytes: int = 50_000_000


def need(config: Mapping[str, str], key: str, kind: str) -> str:
    value = str(config.get(key) or "").strip()
    if not value:
        raise SourceInvalid(f"a {kind} source needs '{key}'")
    return value


def need_url(config: Mapping[str, str], key: str, kind: str) -> str:
    value = need(config, key, kind)
    if not value.startswith(("http://", "https://")):
        raise SourceInvalid(f"'{key}' must start with http:// or https:// (got {value[:80]!r})")
    return value


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    headers: httpx.Headers

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise SourceInvalid("the response is not valid JSON") from exc


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = 50_000_000,
    echo_errors: bool = False,
) -> Fetched:
    """GET with errors translated: 304 passes, 429/5xx/timeouts -> SourceUnavailable,
    other 4xx -> SourceInvalid; a body over `max_bytes` is refused without reading it all.
    The target's own error text is shown to staff only with `echo_errors` (a known API such
    as Google's): any other host's body stays out of what staff read."""
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with client.stream("GET", url, params=params, headers=request_headers) as response:
            if echo_errors and 400 <= response.status_code < 500 and response.status_code != 429:
                detail = _error_detail(await _read_capped(response, 20_000))
                _raise_for_status(response, detail)
            _raise_for_status(response)
            body = await _read_capped(response, max_bytes)
            return Fetched(response.status_code, body, response.headers)
    except AddressRefused as exc:
        raise SourceInvalid(str(exc)) from exc
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(f"timed out fetching {_host(url)}") from exc
    except httpx.TransportError as exc:
        raise SourceUnavailable(f"could not reach {_host(url)}: {type(exc).__name__}") from exc


def _error_detail(body: bytes) -> str:
    """The `error.message` of a JSON error body (Google APIs and most JSON APIs), if any."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return f": {str(message)[:200]}" if message else ""


def _raise_for_status(response: httpx.Response, detail: str = "") -> None:
    status = response.status_code
    if status == 304 or 200 <= status < 300:
        return
    host = _host(str(response.request.url))
    if status == 429:
        raise SourceUnavailable(
            f"{host} is rate limiting us (429)",
            retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 500:
        raise SourceUnavailable(
            f"{host} answered {status}", retry_after_seconds(response.headers.get("Retry-After"))
        )
    if status in (401, 403):
        raise SourceInvalid(f"{host} refused the credentials ({status}){detail}")
    if status == 404:
        raise SourceInvalid(f"{host} says the address does not exist (404)")
    raise SourceInvalid(f"{host} answered {status}{detail}")


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise SourceInvalid(f"the response is too large ({int(declared)} bytes > {max_bytes})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceInvalid(f"the response is too large (over {max_bytes} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def conditional_headers(cursor: Mapping[str, Any]) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the validators a cursor kept."""
    headers = {}
    if cursor.get("etag"):
        headers["If-None-Match"] = str(cursor["etag"])
    if cursor.get("last_modified"):
        headers["If-Modified-Since"] = str(cursor["last_modified"])
    return headers


def validators(fetched: Fetched) -> dict[str, str]:
    out = {}
    if fetched.headers.get("ETag"):
        out["etag"] = fetched.headers["ETag"]
    if fetched.headers.get("Last-Modified"):
        out["last_modified"] = fetched.headers["Last-Modified"]
    return out


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url[:60]
    except Exception:  # noqa: BLE001 - only for a message
        return url[:60]
