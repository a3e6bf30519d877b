"""Subscribers by topic and language, and the composer for verified updates (broadcasts)."""

from __future__ import annotations

import uuid
from collections import Counter
from functools import partial

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, requires
from bot.conversation.catalogue import TOPICS, languages, resolve_language
from bot.conversation.publishing import PublishError, after_publish, broadcast
from domain.models import Resident


async def counts(panel: Panel) -> tuple[Counter[str], dict[str, Counter[str]], int]:
    """Subscribers per topic, per topic and language, and residents subscribed to anything."""
    by_topic: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {t: Counter() for t in TOPICS}
    anyone = 0
    async with panel.services.db.session() as session:
        query = select(Resident.topics, Resident.language).where(
            Resident.opted_out.is_(False), Resident.blocked.is_(False)
        )
        for topics, language in (await session.execute(query)).all():
            anyone += bool(topics)
            for topic in topics or []:
                by_topic[topic] += 1
                by_language.setdefault(topic, Counter())[resolve_language(language)] += 1
    return by_topic, by_language, anyone


async def render_page(
    panel: Panel,
    request: Request,
    status_code: int = 200,
    errors: list[str] | None = None,
    topic: str = "",
    bodies: dict[str, str] | None = None,
) -> Response:
    by_topic, by_language, anyone = await counts(panel)
    return panel.render(
        request,
        "subscribers.html",
        status_code=status_code,
        by_topic=by_topic,
        by_language=by_language,
        anyone=anyone,
        errors=errors or [],
        topic=topic,
        bodies=bodies or {},
    )


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    return await render_page(panel, request)


@requires("moderator")
async def send_update(panel: Panel, request: Request) -> Response:
    form = await request.form()
    topic = form_str(form, "topic", 50)
    bodies = {lang: form_str(form, f"body_{lang}", 3000) for lang in languages()}
    errors = [] if topic in TOPICS else ["Choose a topic."]
    default = panel.services.settings.default_language
    filled = {lang: body for lang, body in bodies.items() if body}
    if not filled:
        errors.append("Write the update in at least one language.")
    if errors:
        return await render_page(panel, request, 400, errors, topic, bodies)
    try:
        async with panel.services.db.session() as session:
            sent = await broadcast(
                panel.services,
                f"update-{uuid.uuid4().hex}",
                topic,
                filled,
                default if default in filled else next(iter(filled)),
                session=session,
            )
            await audit.record(
                session,
                "broadcast",
                request.state.staff.username,
                f"topic:{topic}",
                None,
                {"topic": topic, "body": filled, "recipients": sent},
            )
    except PublishError as exc:
        return await render_page(panel, request, 400, [str(exc)], topic, bodies)
    await after_publish(panel.services)
    return panel.redirect(request, "/subscribers", f"Update queued for {sent} subscribers.")


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/subscribers", partial(page, panel), methods=["GET"]),
        Route("/subscribers/broadcast", partial(send_update, panel), methods=["POST"]),
    ]
