"""The web chat's upload field at the HTTP level: refused from other sites, the body cut off
while it is read, and every refusal told politely in the resident's language by the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.runtime.app import Runtime
from bot.runtime.wiring import build_services
from bot.texts.catalogue import text
from domain.db import Database
from domain.models import MediaJob
from domain.settings import Settings
from matching import Embedder
from nlu import IntentParser

LIMIT = 50_000  # bytes, every kind: small, so a test body passes it quickly


@pytest.fixture
async def small_limits(settings: Settings, database: Database, embedder: Embedder,
                       intent_parser: IntentParser) -> AsyncIterator[Runtime]:
    tight = settings.model_copy(update={"media_max_image_bytes": LIMIT,
                                        "media_max_audio_bytes": LIMIT,
                                        "media_max_video_bytes": LIMIT})
    rt = Runtime(tight, services=build_services(tight, database, embedder, intent_parser))
    async with rt.running():
        yield rt


def client(rt: Runtime, language: str = "sw") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=rt.asgi()),
                             base_url="http://test", headers={"accept-language": language})


async def replies(http: httpx.AsyncClient, count: int = 1) -> list[str]:
    """Every reply so far, once there are `count` (the long poll waits up to 10 s each)."""
    texts: list[str] = []
    after = 0
    for _ in range(3):
        got = (await http.get(f"/chat/messages?after={after}")).json()
        texts += [m["text"] for m in got["messages"]]
        after = got["next"]
        if len(texts) >= count:
            break
    return texts


async def test_refusals_reach_the_resident_in_their_language(small_limits: Runtime) -> None:
    async with client(small_limits, "sw") as http:
        await http.get("/chat")
        empty = await http.post("/chat/upload", files={"file": ("a.jpg", b"", "image/jpeg")})
        assert empty.status_code == 200
        assert await replies(http) == [text("media_unreadable", "sw")]
        pdf = await http.post("/chat/upload",
                              files={"file": ("a.pdf", b"%PDF-1.7 ...", "application/pdf")})
        assert pdf.status_code == 200
        assert (await replies(http, 2))[-1] == text("unsupported_media", "sw")
        lying = await http.post("/chat/upload", files={
            "file": ("notice.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")})
        assert lying.status_code == 200
        assert (await replies(http, 3))[-1] == text("unsupported_media", "sw")
        big = await http.post("/chat/upload", files={
            "file": ("big.jpg", b"\xff\xd8\xff\xe0" + b"\0" * LIMIT, "image/jpeg")})
        assert big.status_code == 200
        assert (await replies(http, 4))[-1] == text("media_too_large", "sw")
    kept = Path(small_limits.settings.media_dir) / "files"
    assert not kept.exists() or not list(kept.iterdir())  # a refused file is never kept


async def test_an_oversized_body_is_cut_off_while_it_is_read(small_limits: Runtime) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n\r\n"
        for _ in range(1000):  # 10 MB, far past the limit
            sent += 1
            yield b"\xff" * 10_000

    async with client(small_limits, "en") as http:
        await http.get("/chat")
        cut = await http.post("/chat/upload", content=endless(),
                              headers={"content-type": "multipart/form-data; boundary=b"})
        assert cut.status_code == 413
        assert sent < 20  # stopped near LIMIT + overhead, not after reading all of it
        assert await replies(http) == [text("media_too_large", "en")]


async def test_uploads_from_other_sites_or_without_a_chat_are_refused(runtime: Runtime) -> None:
    files = {"file": ("a.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")}
    async with client(runtime) as http:
        assert (await http.post("/chat/upload", files=files)).status_code == 400  # no chat yet
        await http.get("/chat")
        other = await http.post("/chat/upload", files=files,
                                headers={"origin": "https://evil.example"})
        assert other.status_code == 403
        cross = await http.post("/chat/upload", files=files,
                                headers={"sec-fetch-site": "cross-site"})
        assert cross.status_code == 403
        not_form = await http.post("/chat/upload", content=b"\xff\xd8\xff\xe0",
                                   headers={"content-type": "image/jpeg"})
        assert not_form.status_code == 400
    async with runtime.services.db.session() as session:
        assert not await session.scalar(select(func.count()).select_from(MediaJob))
