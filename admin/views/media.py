"""Files residents sent: from the media directory while kept there (images, voice notes and
videos the media stage read), else images fetched from their channel when it can download.

Staff also attach images to a knowledge item here (the fake notice it debunks): the image's
hashes and words are stored with the item, so a resident forwarding a copy is answered with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.deps import PanelServices
from admin.panel import Panel, int_param, requires
from bot.channels.base import read_body_limited
from bot.channels.webchat import with_body
from bot.media.errors import MediaError
from bot.media.probe import sniff
from bot.media.stage import MediaStage, fetch
from bot.media.store import MediaStore
from domain.media import remember
from domain.messages import Media
from domain.models import KnowledgeItem
from domain.models import Request as ResidentRequest

log = logging.getLogger(__name__)
MAX_BYTES = 10_000_000
IMAGE_KINDS = {"photo", "image"}
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


def image_type(data: bytes) -> str | None:
    """The image type by its first bytes; anything else is not served (no HTML, no SVG)."""
    for magic, media_type in MAGIC:
        if data.startswith(magic) and (media_type != "image/webp" or data[8:12] == b"WEBP"):
            return media_type
    return None


def can_download(services: PanelServices, channel: str) -> bool:
    found = services.channels.get(channel)
    return found is not None and found.can_download


@requires("viewer")
async def media(panel: Panel, request: Request) -> Response:
    request_id, index = (
        int_param(request.path_params["request_id"]),
        int_param(request.path_params["index"]),
    )
    async with panel.services.db.session() as session:
        row = await session.get(ResidentRequest, request_id)
    entries = row.media if row is not None else []
    if row is None or not 0 <= index < len(entries):
        return Response("not found", status_code=404, media_type="text/plain")
    stored = MediaStore(Path(panel.services.settings.media_dir)).path(
        str(entries[index].get("file") or "")
    )
    if stored is not None:
        return _kept_file(await asyncio.to_thread(stored.read_bytes))
    if entries[index].get("kind") not in IMAGE_KINDS or not can_download(
        panel.services, row.channel
    ):
        return Response("not found", status_code=404, media_type="text/plain")
    entry = Media(str(entries[index]["kind"]), str(entries[index]["ref"]))
    try:
        data = await fetch(panel.services.channels[row.channel], entry, MAX_BYTES, 15.0)
    except Exception as exc:  # the platform may have expired the file
        log.info("media download failed: %s", type(exc).__name__)
        return Response("unavailable", status_code=502, media_type="text/plain")
    media_type = image_type(data[:16])
    if media_type is None or len(data) > MAX_BYTES:
        return Response("not an image", status_code=415, media_type="text/plain")
    return Response(data, media_type=media_type, headers={"cache-control": "private, max-age=3600"})


def _kept_file(data: bytes) -> Response:
    """A file the media stage checked; served only as the image, audio or video it is."""
    try:
        media_type = sniff(data[:64]).mime_type
    except MediaError:
        return Response("not media", status_code=415, media_type="text/plain")
    return Response(data, media_type=media_type, headers={"cache-control": "private, max-age=3600"})


FORM_OVERHEAD = 16_000  # the CSRF token and the multipart framing around the file
REFUSALS = {
    "media_too_large": "The image is too large (bytes or pixels) to read.",
    "media_unreadable": "The file is empty or damaged.",
    "unsupported_media": "The file is not a JPEG, PNG, GIF or WebP image (by its content).",
}


def body_limited(
    view: Callable[[Panel, Request], Awaitable[Response]],
) -> Callable[[Panel, Request], Awaitable[Response]]:
    """Refuse a body past the image limit while it is read (before the form is parsed)."""

    async def wrapper(panel: Panel, request: Request) -> Response:
        limit = panel.services.settings.media_max_image_bytes + FORM_OVERHEAD
        body = await read_body_limited(request, limit)
        if body is None:
            return panel.render(request, "error.html", status_code=413,
                                message=f"The file is larger than {limit // 1_000_000} MB.")
        replayed = with_body(request, body)
        try:
            return await view(panel, replayed)
        finally:
            await replayed.close()  # the parsed form's temporary file, whoever parsed it

    return wrapper


@body_limited
@requires("moderator")
async def attach(panel: Panel, request: Request) -> Response:
    """Attach an uploaded image to a knowledge item (its hashes and the words read from it),
    with the audit event in the same transaction."""
    item_id = int_param(request.path_params["item_id"])
    form = await request.form()
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    async with panel.services.db.session() as session:
        item = await session.get(KnowledgeItem, item_id)
        language = item.language if item is not None else None
    if item is None:
        return panel.render(request, "error.html", status_code=404, message="No such item.")
    problem = _not_an_image(data)
    if problem is None:
        try:
            stage = MediaStage(panel.services.settings)
            reading = await asyncio.to_thread(stage.read_now, data, language)
        except MediaError as exc:
            problem = REFUSALS.get(exc.reply_key, REFUSALS["media_unreadable"])
    if problem is not None:
        return panel.render(request, "error.html", status_code=400,
                            message=f"Not attached: {problem}")
    async with panel.services.db.session() as session:
        await remember(session, reading.sha256, reading.phashes, item_id=item_id,
                       text=reading.ocr_text)
        await audit.record(session, "attach_media", request.state.staff.username,
                           f"item:{item_id}", None,
                           {"sha256": reading.sha256, "phash": list(reading.phashes),
                            "words_read": reading.ocr_text[:300],
                            "file_name": upload.filename if isinstance(upload, UploadFile)
                            else None})
    words = len(reading.ocr_text.split())
    return panel.redirect(request, f"/knowledge/{item_id}",
                          f"Image attached ({words} words read from it): residents who forward "
                          "a copy of it are answered with this item.")


def _not_an_image(data: bytes) -> str | None:
    """Why these bytes are refused before reading them, or None for an image."""
    if not data:
        return REFUSALS["media_unreadable"]
    try:
        found = sniff(data[:64])
    except MediaError as exc:
        return REFUSALS.get(exc.reply_key, REFUSALS["media_unreadable"])
    return None if found.kind == "image" else REFUSALS["unsupported_media"]


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/media/{request_id:int}/{index:int}", partial(media, panel), methods=["GET"]),
        Route("/knowledge/{item_id:int}/media", partial(attach, panel), methods=["POST"]),
    ]
