"""A fact-check site on a loopback port: the recorded ClaimReview feed and press RSS served over
real HTTP, so a source added in the panel goes through the connectors' own client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.http_server import serve

PAYLOADS = Path(__file__).parents[1] / "factcheck_connectors" / "payloads"
FILES = {
    "/checks/feed.json": ("claimreview_feed.json", "application/ld+json"),
    "/press.rss": ("press.rss", "application/rss+xml"),
}


class FactCheckSite:
    """Serves FILES; `down` makes every answer a 503 (an outage), `hits` counts requests."""

    def __init__(self) -> None:
        self.down = False
        self.hits: list[str] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.page)])

    async def page(self, request: Request) -> Response:
        self.hits.append(request.url.path)
        if self.down:
            return Response("maintenance", status_code=503)
        found = FILES.get(request.url.path)
        if found is None:
            return Response("not found", status_code=404)
        name, media_type = found
        return Response((PAYLOADS / name).read_bytes(), media_type=media_type)


@contextmanager
def factcheck_site() -> Iterator[tuple[FactCheckSite, str]]:
    site = FactCheckSite()
    with serve(site.app) as url:
        yield site, url
