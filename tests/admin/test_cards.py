"""The panel's share cards page: every language of a published answer, both sizes, the text."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.texts.catalogue import text
from tests.admin.conftest import seed

LIONS = "Lions escaped from the national park and are walking in the market tonight"


async def test_staff_open_and_download_the_cards_of_an_answer(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    cluster_id = await seed(runtime, LIONS, ["r1"])
    draft = AnswerDraft(
        verdict="false",
        explanation="Park rangers confirm every lion is inside.",
        translations={
            "ar": {"claim": "هربت الأسود من الحديقة", "explanation": "كل الأسود في الداخل."}
        },
    )
    answer_id = (await publish_answer(runtime.services, cluster_id, draft)).answer_id
    cluster = await viewer.get(f"/admin/clusters/{cluster_id}")
    assert f'href="/admin/answers/{answer_id}/cards"' in cluster.text
    page = await viewer.get(f"/admin/answers/{answer_id}/cards")
    assert page.status_code == 200
    assert (
        "FALSE: Lions escaped" in page.text
        and f"{text('verdict.false', 'ar')}: هربت الأسود من الحديقة" in page.text
    )
    downloads = [
        d.replace("&amp;", "&") for d in re.findall(r'href="([^"]+download=1)"', page.text)
    ]
    assert len(downloads) == 4  # en and ar, post and story
    story = await viewer.get(downloads[-1])
    assert story.headers["content-disposition"].startswith("attachment;")
    assert Image.open(io.BytesIO(story.content)).size == (1080, 1920)
    missing = await viewer.get(f"/admin/answers/{answer_id}/card.png?lang=hi")
    assert missing.status_code == 404
    assert (await viewer.get("/admin/answers/999/cards")).status_code == 404


async def test_cards_need_a_login(runtime: Runtime, client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/answers/1/card.png")
    assert response.status_code == 303 and "/login" in response.headers["location"]
