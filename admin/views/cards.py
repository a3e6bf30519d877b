"""Share cards of a published answer in the panel: every language, both sizes, to download,
and sent to influencers, community leaders and partners (a targeted, paced broadcast)."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, requires
from bot.amplifiers.reach import answer_reach
from bot.amplifiers.roles import areas, role_label, roles
from bot.delivery.audience import Audience
from bot.delivery.broadcasts import (
    BroadcastError,
    answer_bodies,
    answer_images,
    targeted_broadcast,
)
from bot.sharing.cards import FORMATS
from bot.sharing.content import card_languages, share_text
from bot.sharing.fonts import FontsMissing
from bot.sharing.service import ShareCards
from bot.sharing.web import published_source
from domain.models import RESIDENT_ROLE, Answer, KnowledgeItem

_CARDS: WeakKeyDictionary[Panel, ShareCards] = WeakKeyDictionary()


def _cards(panel: Panel) -> ShareCards:
    if panel not in _CARDS:
        _CARDS[panel] = ShareCards(panel.services.settings)
    return _CARDS[panel]


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    return await render_cards(panel, request)


async def render_cards(
    panel: Panel, request: Request, status_code: int = 200, **extra: Any
) -> Response:
    answer_id = request.path_params["answer_id"]
    async with panel.services.db.session() as session:
        row = (
            await session.execute(
                select(Answer, KnowledgeItem)
                .join(KnowledgeItem, KnowledgeItem.id == Answer.knowledge_item_id)
                .where(Answer.id == answer_id)
            )
        ).first()
        reach = (await answer_reach(session, [int(answer_id)])).get(int(answer_id))
    if row is None:
        return panel.render(request, "error.html", status_code=404, message="No such answer.")
    answer, item = row
    cards = []
    for language in card_languages(item):
        found = await published_source(panel.services.db, str(answer_id), language)
        if found is not None:
            cards.append((language, share_text(panel.services.settings, found[1])))
    settings = panel.services.settings
    return panel.render(
        request,
        "cards.html",
        status_code=status_code,
        answer=answer,
        item=item,
        cards=cards,
        reach=reach,
        roles=[r for r in roles(settings) if r != RESIDENT_ROLE],
        areas=areas(settings),
        role_label=role_label,
        nonce=extra.pop("nonce", None) or uuid.uuid4().hex,
        **extra,
    )


def _audience(form: FormData) -> Audience:
    def chosen(name: str) -> frozenset[str]:
        return frozenset(
            v.strip()[:60] for v in form.getlist(name) if isinstance(v, str) and v.strip()
        )

    typed = {a.strip()[:60] for a in form_str(form, "areas_text", 1000).split(",") if a.strip()}
    return Audience(
        roles=chosen("roles"), areas=chosen("areas") | typed, languages=chosen("languages")
    )


@requires("moderator")
async def send(panel: Panel, request: Request) -> Response:
    """Preview, or send, the answer's cards to a targeted audience (paced on WhatsApp)."""
    form = await request.form()
    answer_id = int(request.path_params["answer_id"])
    audience = _audience(form)
    nonce = form_str(form, "nonce", 64) or uuid.uuid4().hex
    chosen = {
        "roles": sorted(audience.roles),
        "areas": sorted(audience.areas),
        "languages": sorted(audience.languages),
    }
    if not audience.roles:
        return await render_cards(
            panel, request, 400, errors=["Choose at least one role."], chosen=chosen, nonce=nonce
        )
    try:
        bodies = await answer_bodies(panel.services, answer_id)
        preview = form_str(form, "action", 20) != "send"
        key = f"answer-{answer_id}-{nonce}"
        plan = await targeted_broadcast(
            panel.services,
            key,
            audience,
            bodies,
            next(iter(bodies)),
            preview=preview,
            images=await answer_images(panel.services, answer_id),
        )
    except BroadcastError as exc:
        return await render_cards(
            panel, request, 400, errors=[str(exc)], chosen=chosen, nonce=nonce
        )
    if preview:
        return await render_cards(panel, request, plan=plan, chosen=chosen, nonce=nonce)
    await audit.record_alone(
        panel.services.db, "broadcast.targeted", request.state.staff.username,
        f"answer:{answer_id}",
        {**chosen, **audit.fields(plan, "recipients", "queued", "paced"), "key": key},
    )
    flash = f"Cards queued for {plan.queued} people"
    if plan.paced:
        flash += f"; {plan.paced} on WhatsApp over the next {plan.days:.1f} days (messaging limit)"
    return panel.redirect(request, f"/answers/{answer_id}/cards", flash + ".")


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
        Route("/answers/{answer_id:int}/broadcast", partial(send, panel), methods=["POST"]),
    ]
