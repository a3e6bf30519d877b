"""Share cards downloaded from a published answer's public page, `/claims/{id}`."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.conversation.services import Services
from domain.models import Cluster
from factcheck_connectors.web import routes


@pytest.fixture
async def answer_id(services: Services) -> int:
    async with services.db.session() as session:
        cluster = Cluster(representative_text="Is the water poisoned in Kibera?", ask_count=3)
        session.add(cluster)
        await session.flush()
        cluster_id = cluster.id
    draft = AnswerDraft(
        verdict="false",
        explanation="The water board tested every sample this morning: the water is safe.",
        source_url="https://city.example/notices/water",
        translations={"sw": {"claim": "Maji ya Kibera yana sumu?", "explanation": "Ni salama."}},
    )
    return (await publish_answer(services, cluster_id, draft)).answer_id


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(services))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as client:
        yield client


async def test_claim_page_links_to_its_cards_in_both_sizes(
    answer_id: int, http: httpx.AsyncClient
) -> None:
    page = await http.get(f"/claims/{answer_id}?lang=sw")
    links = [
        link.replace("&amp;", "&") for link in re.findall(r'href="(/claims/[^"]+)"', page.text)
    ]
    assert len(links) == 3
    sizes = []
    for link in links[:2]:
        response = await http.get(link)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        sizes.append(Image.open(io.BytesIO(response.content)).size)
    assert sizes == [(1080, 1080), (1080, 1920)]
    text = (await http.get(links[2])).text
    assert text.startswith("❌ SI KWELI: Maji ya Kibera yana sumu?")
    assert text.endswith("http://127.0.0.1:8080/chat")


async def test_unknown_answers_languages_and_formats_are_refused(
    answer_id: int, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"/claims/{answer_id}/card.png?lang=ar")).status_code == 404
    assert (await http.get("/claims/999/card.png")).status_code == 404
    assert (await http.get("/claims/x/card.png")).status_code == 404
    assert (await http.get(f"/claims/{answer_id}/card.png?lang=<script>")).status_code == 404
    assert (await http.get(f"/claims/{answer_id}/card.png?format=huge")).status_code == 400
    assert (await http.get(f"/claims/{answer_id}/share.txt")).status_code == 200
