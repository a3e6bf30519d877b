"""Files residents sent: from the media directory while kept there (images, voice notes and
videos the media stage read), else images fetched from their channel when it can download."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin.deps import PanelServices
from admin.panel import Panel, int_param, requires
from bot.media.errors import MediaError
from bot.media.probe import sniff
from bot.media.stage import fetch
from bot.media.store import MediaStore
from domain.messages import Media
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
    return callable(getattr(services.channels.get(channel), "download", None))


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


def routes(panel: Panel) -> list[Route]:
    return [Route("/media/{request_id:int}/{index:int}", partial(media, panel), methods=["GET"])]
