"""Fakes at the network edge only: an httpx transport serving recorded-shape payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.conversation.services import Services
from domain.topics import DEFAULT_TOPICS, Topics, use_topics
from factcheck_connectors.runner import Runner

PAYLOADS = Path(__file__).with_name("payloads")
Handler = Callable[[httpx.Request], httpx.Response]


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


class FakeWeb:
    """URL (without query) -> handler; a handler may be a list, served in order (last repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Handler]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, url: str, *handlers: Handler) -> None:
        self.routes[url] = list(handlers)

    def serve(
        self, url: str, body: bytes | str, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.on(url, reply(body, status, headers))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = str(request.url.copy_with(query=None))
        handlers = self.routes.get(key)
        if not handlers:
            return httpx.Response(404, text="not found")
        handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
        return handler(request)

    def hits(self, url: str) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url.copy_with(query=None)) == url]


def reply(body: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    content = body.encode() if isinstance(body, str) else body
    return lambda _req: httpx.Response(status, content=content, headers=headers or {})


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.fixture(autouse=True)
def city_with_waste_topic() -> Iterator[None]:
    """The recorded statements file is a city's that configured a `waste` topic."""
    use_topics(Topics((*DEFAULT_TOPICS, "waste"), {"waste": {"en": "Waste", "sw": "Taka"}}))
    yield
    use_topics(None)


@pytest.fixture
def web() -> FakeWeb:
    return FakeWeb()


@pytest.fixture
async def client(web: FakeWeb) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(web.handle)) as http:
        yield http


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def runner(services: Services, client: httpx.AsyncClient, sleeps: Sleeps) -> Runner:
    return Runner(services, client=client, sleep=sleeps)


def any_json(data: Any) -> Handler:
    import json

    return reply(json.dumps(data), headers={"Content-Type": "application/json"})
