"""Share cards of a published answer in the panel: every language, both sizes, to download."""

from __future__ import annotations

import asyncio
from functools import partial
from weakref import WeakKeyDictionary

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin.panel import Panel, requires
from bot.sharing.cards import FORMATS
from bot.sharing.content import card_languages, share_text
from bot.sharing.fonts import FontsMissing
from bot.sharing.service import ShareCards
from bot.sharing.web import published_source
from domain.models import Answer, KnowledgeItem

_CARDS: WeakKeyDictionary[Panel, ShareCards] = WeakKeyDictionary()


def _cards(panel: Panel) -> ShareCards:
    if panel not in _CARDS:
        _CARDS[panel] = ShareCards(panel.services.settings)
    return _CARDS[panel]


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    answer_id = request.path_params["answer_id"]
    async with panel.services.db.session() as session:
        row = (
            await session.execute(
                select(Answer, KnowledgeItem)
                .join(KnowledgeItem, KnowledgeItem.id == Answer.knowledge_item_id)
                .where(Answer.id == answer_id)
            )
        ).first()
    if row is None:
        return panel.render(request, "error.html", status_code=404, message="No such answer.")
    answer, item = row
    cards = []
    for language in card_languages(item):
        found = await published_source(panel.services.db, str(answer_id), language)
        if found is not None:
            cards.append((language, share_text(panel.services.settings, found[1])))
    return panel.render(request, "cards.html", answer=answer, item=item, cards=cards)


@requires("viewer")
async def image(panel: Panel, request: Request) -> Response:
    format_name = request.query_params.get("format") or "square"
    found = await published_source(
        panel.services.db, str(request.path_params["answer_id"]), request.query_params.get("lang")
    )
    if found is None or format_name not in FORMATS:
        return panel.render(request, "error.html", status_code=404, message="No such card.")
    key, source = found
    try:
        data = await asyncio.to_thread(_cards(panel).png, key, source, format_name)
    except FontsMissing:
        return panel.render(
            request,
            "error.html",
            status_code=503,
            message="Share cards need the Noto fonts: run scripts/install_fonts.sh on the server.",
        )
    name = f"claim-{request.path_params['answer_id']}-{source.language}-{format_name}.png"
    return Response(
        data,
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{name}"'}
        if request.query_params.get("download")
        else {},
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/answers/{answer_id:int}/cards", partial(page, panel), methods=["GET"]),
        Route("/answers/{answer_id:int}/card.png", partial(image, panel), methods=["GET"]),
    ]
