"""Connectors against hostile sources: redirects into the private network, error bodies that
would echo internal data, JSON nested past the parser, over-long fields."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.conversation.services import Services
from domain.models import KnowledgeItem, Source
from factcheck_connectors import manage
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.runner import Runner, make_client
from tests.fakes.http_server import LoopbackServer


class Site:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.server = LoopbackServer(
            Starlette(
                routes=[
                    Route("/feed", self.feed),
                    Route("/internal", self.internal),
                    Route("/hop", self.hop),
                    Route("/error", self.error),
                ]
            ),
            "hostile-site",
        )
        self.port = self.server.start()

    async def feed(self, request: Request) -> Response:
        self.hits.append("feed")
        return RedirectResponse(f"http://localhost:{self.port}/internal", status_code=302)

    async def hop(self, request: Request) -> Response:
        self.hits.append("hop")
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)

    async def internal(self, request: Request) -> Response:
        self.hits.append("internal")
        return JSONResponse([{"@type": "ClaimReview", "claimReviewed": "secret"}])

    async def error(self, request: Request) -> Response:
        return JSONResponse({"error": {"message": "db password is hunter2"}}, status_code=400)


@pytest.fixture
def site() -> Iterator[Site]:
    found = Site()
    yield found
    found.server.stop()


def allowing(services: Services, hosts: str) -> Services:
    services.settings = services.settings.model_copy(update={"connector_private_hosts": hosts})
    return services


async def test_a_redirect_into_the_private_network_is_refused_on_every_hop(
    services: Services, site: Site
) -> None:
    allowing(services, f"127.0.0.1:{site.port}")  # the first hop is an allowed intranet host
    for path in ("/feed", "/hop"):  # to localhost, then to the cloud metadata address
        with pytest.raises(SourceInvalid, match="loopback, private or internal"):
            await manage.add_source(
                services,
                "claimreview_feed",
                f"s{path[1:]}",
                {"url": f"http://127.0.0.1:{site.port}{path}"},
            )
    assert "internal" not in site.hits  # the private address was never contacted


async def test_a_private_address_is_refused_without_the_setting(
    services: Services, site: Site
) -> None:
    async with make_client(services) as http:
        with pytest.raises(httpx.TransportError, match="loopback, private or internal"):
            await http.get(f"http://127.0.0.1:{site.port}/internal")
    assert site.hits == []


async def test_a_sources_error_body_is_not_echoed_to_staff(services: Services, site: Site) -> None:
    allowing(services, f"127.0.0.1:{site.port}")
    with pytest.raises(SourceInvalid) as refused:
        await manage.add_source(
            services, "claimreview_feed", "leaky", {"url": f"http://127.0.0.1:{site.port}/error"}
        )
    assert "hunter2" not in str(refused.value) and "400" in str(refused.value)


def _serve(routes: dict[str, bytes]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=routes[str(r.url)]))
    )


async def test_deeply_nested_json_is_a_recorded_failure(services: Services) -> None:
    good = json.dumps(
        [
            {
                "@type": "ClaimReview",
                "claimReviewed": "The market burns tonight",
                "reviewRating": {"alternateName": "False"},
            }
        ]
    ).encode()
    routes = {"https://feeds.example/cr.json": good}
    async with _serve(routes) as http:
        await manage.add_source(
            services,
            "claimreview_feed",
            "deep",
            {"url": "https://feeds.example/cr.json"},
            client=http,
        )
        routes["https://feeds.example/cr.json"] = b'{"@graph": ' * 3000 + b"[]" + b"}" * 3000
        report = await Runner(services, client=http).run_source("deep")
    assert not report.ok and report.error
    async with services.db.session() as session:
        source = (await session.scalars(select(Source).where(Source.name == "deep"))).one()
        items = (await session.scalars(select(KnowledgeItem))).all()
    assert source.failures == 1 and source.last_error == report.error
    assert [i.claim for i in items] == ["The market burns tonight"]  # what came before stays
