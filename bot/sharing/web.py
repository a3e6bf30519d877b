"""Public downloads of a published answer's share card: `/claims/{id}/card.png` and `share.txt`.

`?lang=` picks one of the answer's languages (its own by default), `?format=story` the
1080x1920 card; an answer without that language is a 404, like the claim page.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.sharing.cards import FORMATS
from bot.sharing.content import ShareSource, share_text
from bot.sharing.fonts import FontsMissing
from bot.sharing.service import ShareCards
from domain.db import Database
from domain.settings import Settings
from factcheck_connectors import feeds

MAX_LANGUAGE = 10
HEADERS = {  # these responses are files, never pages: nothing in them may run or be framed
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=HEADERS)


async def published_source(
    db: Database, answer_id_text: str, lang: str | None
) -> tuple[str, ShareSource] | None:
    """(cache key, card source) for a published answer in `lang`, or None."""
    try:
        answer_id = int(answer_id_text)
    except ValueError:
        return None
    if lang is not None and (len(lang) > MAX_LANGUAGE or not lang.replace("-", "").isalnum()):
        return None
    entries = await feeds.published(db, lang=lang or None, answer_id=answer_id)
    if not entries:
        return None
    entry = entries[0]
    item = entry.item
    key = f"{answer_id}:{item.updated_at.isoformat() if item.updated_at else ''}:{entry.language}"
    source = ShareSource(
        item.verdict,
        entry.claim,
        entry.explanation,
        item.source_url,
        item.publisher,
        entry.published_at,
        entry.language,
        answer_id,
    )
    return key, source


class CardDownloads:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.cards = ShareCards(settings)

    async def card(self, request: Request) -> Response:
        format_name = request.query_params.get("format") or "square"
        if format_name not in FORMATS:
            return _error(400, "format must be square or story")
        found = await published_source(
            self.db, request.path_params["answer_id"], request.query_params.get("lang")
        )
        if found is None:
            return _error(404, "no such answer")
        key, source = found
        try:
            data = await asyncio.to_thread(self.cards.png, key, source, format_name)
        except FontsMissing:
            return _error(503, "share cards are not available on this server (fonts missing)")
        filename = f"claim-{request.path_params['answer_id']}-{source.language}-{format_name}.png"
        return Response(
            data,
            media_type="image/png",
            headers={
                **HEADERS,
                "Content-Disposition": f'inline; filename="{filename}"',
                "Cache-Control": "public, max-age=300",
            },
        )

    async def text(self, request: Request) -> Response:
        found = await published_source(
            self.db, request.path_params["answer_id"], request.query_params.get("lang")
        )
        if found is None:
            return _error(404, "no such answer")
        return PlainTextResponse(share_text(self.settings, found[1]), headers=HEADERS)


def routes(db: Database, settings: Settings) -> list[BaseRoute]:
    downloads = CardDownloads(db, settings)
    return [
        Route("/claims/{answer_id}/card.png", downloads.card, methods=["GET"]),
        Route("/claims/{answer_id}/share.txt", downloads.text, methods=["GET"]),
    ]
