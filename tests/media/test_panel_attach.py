"""Staff attach an image to a knowledge item from its panel page; a resident forwarding a
degraded copy of that image is then answered with the item, though its words match no item."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot.runtime.app import Runtime
from bot.texts.catalogue import text
from domain.knowledge import ItemData, upsert_item
from domain.models import AuditEvent, KnowledgeItem, MediaHash
from tests.admin.conftest import PASSWORD, add_user, csrf_of, login, web_client
from tests.admin.live import chromium, serve
from tests.media import samples

SHOTS = os.environ.get("RUMOURBOT_SCREENSHOTS")  # a folder: keep the page's screenshot there
# a notice whose words are in no item: only the attached image can answer its copies
NOTICE = "All households must register their water meters at the district office by Friday"
CLAIM = "Residents must pay a fee to register water meters"
EXPLAINED = "There is no registration and no fee; the notice circulating is fake."


@pytest.fixture
async def item_id(runtime: Runtime) -> int:
    async with runtime.services.db.session() as session:
        await upsert_item(session, ItemData(claim=CLAIM, verdict="false", explanation=EXPLAINED,
                                            publisher="City Water Board"))
        found = await session.scalar(select(KnowledgeItem.id))
    await runtime.services.knowledge.refresh()
    assert found is not None
    return found


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(runtime) as client:
        yield client


async def as_staff(runtime: Runtime, http: httpx.AsyncClient, role: str) -> None:
    await add_user(runtime, role, role)
    assert (await login(http, role)).status_code == 303


async def post_image(http: httpx.AsyncClient, item: int, name: str, data: bytes,
                     csrf: str | None = None) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await http.get(f"/admin/knowledge/{item}")).text)
    return await http.post(f"/admin/knowledge/{item}/media", data={"csrf_token": csrf},
                           files={"file": (name, data, "image/jpeg")})


async def forward(runtime: Runtime, image: bytes) -> str:
    """A resident forwards `image` through the web chat; the bot's reply."""
    async with web_client(runtime) as chat:
        await chat.get("/chat")
        sent = await chat.post("/chat/upload", files={"file": ("IMG.jpg", image, "image/jpeg")})
        assert sent.status_code == 200
        got = (await chat.get("/chat/messages?after=0")).json()["messages"]
    assert got, "no reply"
    return str(got[0]["text"])


async def hashes_of(runtime: Runtime, item: int) -> list[MediaHash]:
    async with runtime.services.db.session() as session:
        rows = await session.scalars(select(MediaHash).where(MediaHash.knowledge_item_id == item))
        return list(rows)


async def test_an_attached_image_answers_its_copies(runtime: Runtime, http: httpx.AsyncClient,
                                                    item_id: int) -> None:
    original = samples.notice("en", NOTICE, seed=4)
    before = await forward(runtime, samples.degraded(original))
    assert before != text("media_nothing_read", "en") and EXPLAINED not in before
    await as_staff(runtime, http, "moderator")
    page = await http.get(f"/admin/knowledge/{item_id}")
    assert 'id="attach-media"' in page.text and 'enctype="multipart/form-data"' in page.text
    done = await post_image(http, item_id, "fake-notice.png", samples.png(original))
    assert done.status_code == 303
    shown = await http.get(done.headers["location"])
    assert "Image attached" in shown.text and "answered with this item" in shown.text
    async with runtime.services.db.session() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.name == "attach_media"))
    assert event is not None and event.actor == "moderator" and event.target == f"item:{item_id}"
    assert "district office" in (event.after or {}).get("words_read", "")
    answer = await forward(runtime, samples.degraded(original, scale=0.6))
    assert answer.startswith(f"❌ {text('verdict.false', 'en')}: ") and EXPLAINED in answer


async def test_only_moderators_with_the_form_and_only_images(
    runtime: Runtime, http: httpx.AsyncClient, item_id: int
) -> None:
    image = samples.jpeg(samples.notice("en", NOTICE))
    await as_staff(runtime, http, "viewer")
    page = await http.get(f"/admin/knowledge/{item_id}")
    assert 'id="attach-media"' not in page.text
    refused = await post_image(http, item_id, "a.jpg", image, csrf=csrf_of(page.text))
    assert refused.status_code == 403 and "role does not allow" in refused.text
    await as_staff(runtime, http, "moderator")
    no_csrf = await post_image(http, item_id, "a.jpg", image, csrf="forged")
    assert no_csrf.status_code == 403
    lying = await post_image(http, item_id, "notice.jpg", b"<svg onload=alert(1)></svg>")
    assert lying.status_code == 400 and "not a JPEG, PNG, GIF or WebP" in lying.text
    voice = await post_image(http, item_id, "note.jpg", b"OggS\0\2" + b"\0" * 200)
    assert voice.status_code == 400
    missing = await post_image(http, 99999, "a.jpg", image)
    assert missing.status_code == 404
    assert await hashes_of(runtime, item_id) == []


async def test_an_oversized_upload_is_cut_off_while_read(
    runtime: Runtime, http: httpx.AsyncClient, item_id: int
) -> None:
    await as_staff(runtime, http, "moderator")
    csrf = csrf_of((await http.get(f"/admin/knowledge/{item_id}")).text)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (f'--b\r\ncontent-disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
               '--b\r\ncontent-disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
               ).encode()
        for _ in range(5000):  # 500 MB if it were all read
            sent += 1
            yield b"\xff" * 100_000

    cut = await http.post(f"/admin/knowledge/{item_id}/media", content=endless(),
                          headers={"content-type": "multipart/form-data; boundary=b"})
    assert cut.status_code == 413
    assert sent <= runtime.settings.media_max_image_bytes // 100_000 + 2
    assert await hashes_of(runtime, item_id) == []


@pytest.mark.browser
async def test_attaching_in_the_browser(runtime: Runtime, item_id: int) -> None:
    await add_user(runtime, "editor", "moderator")
    image = samples.png(samples.notice("en", NOTICE, seed=4))
    async with serve(runtime) as base, chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/admin/")
        await page.fill("input[name=username]", "editor")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("h1:text('Queue')")
        await page.goto(f"{base}/admin/knowledge/{item_id}")
        await page.set_input_files("#attach-file", files=[
            {"name": "fake-notice.png", "mimeType": "image/png", "buffer": image}])
        await page.click("#attach-media button[type=submit]")
        await page.wait_for_selector("text=Image attached")
        if SHOTS:
            await page.screenshot(path=f"{SHOTS}/item-attach-media.png", full_page=True)
    assert len(await hashes_of(runtime, item_id)) == 2  # SHA-256 and pHash
