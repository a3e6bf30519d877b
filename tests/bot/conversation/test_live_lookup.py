"""A claim nothing local matches is looked up at Google Fact Check Tools within a time budget."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from domain.messages import InboundMessage
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser
from tests.fakes.http_server import serve

PAGE = Path(__file__).parents[2] / "factcheck_connectors" / "payloads" / "google_page1.json"


@pytest.fixture
def google() -> Iterator[tuple[str, list[Request]]]:
    seen: list[Request] = []

    async def search(request: Request) -> Response:
        seen.append(request)
        return Response(PAGE.read_bytes(), media_type="application/json")

    app = Starlette(routes=[Route("/v1alpha1/claims:search", search)])
    with serve(app) as url:
        yield f"{url}/v1alpha1/claims:search", seen


@pytest.fixture
async def live_runtime(
    settings: Settings,
    embedder: Embedder,
    intent_parser: IntentParser,
    google: tuple[str, list[Request]],
) -> AsyncIterator[Runtime]:
    configured = settings.model_copy(
        update={"google_factcheck_api_key": SecretStr("k"), "google_factcheck_url": google[0]}
    )
    rt = Runtime(
        configured, services=build_services(configured, embedder=embedder, parser=intent_parser)
    )
    async with rt.running():
        yield rt


async def test_unmatched_claim_offers_what_fact_checkers_found(
    live_runtime: Runtime, google: tuple[str, list[Request]]
) -> None:
    rumour = "They say drinking salt water cures the new virus, forward to everyone"
    await live_runtime.conversation.handle(
        InboundMessage(channel="webchat", sender="g1", message_id="g1", text=rumour, forwarded=True)
    )
    (reply,) = await live_runtime.webchat_outbox.wait_for("g1", 1)
    assert reply.buttons and reply.buttons[-1].data.startswith("none:")
    assert google[1][0].query_params["key"] == "k"
    # picking one answers with the imported fact-check, which now lives in the knowledge base
    await live_runtime.conversation.handle(
        InboundMessage(
            channel="webchat", sender="g1", message_id="g2", callback_data=reply.buttons[0].data
        )
    )
    answer = (await live_runtime.webchat_outbox.wait_for("g1", 2))[1]
    assert "Source:" in answer.text
    assert len(live_runtime.services.knowledge) >= 1
