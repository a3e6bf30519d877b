"""Subscribers by topic and language, and the composer for verified updates (broadcasts).

Sending is two steps: the composer shows a preview per language and the exact count per
channel and language, then staff confirm. The form carries a key made when the composer was
shown; the broadcast is stored under it, so a resubmitted form (double click, back button,
browser retry) finds it and sends nothing again.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, requires
from admin.plurals import plural
from bot.amplifiers.reach import broadcast_reach, targeted_broadcasts
from bot.amplifiers.roles import role_label
from bot.conversation.publishing import (
    PublishError,
    after_publish,
    broadcast,
    broadcast_message,
    closest_language,
    find_broadcast,
    subscribers,
)
from bot.texts.catalogue import TOPICS, languages, resolve_language
from domain.models import Broadcast, Resident

KEY_PREFIX = "update-"


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


@dataclass
class Draft:
    topic: str
    bodies: dict[str, str]
    source_url: str
    key: str

    @property
    def filled(self) -> dict[str, str]:
        return {lang: body for lang, body in self.bodies.items() if body}


async def render_page(
    panel: Panel,
    request: Request,
    status_code: int = 200,
    errors: list[str] | None = None,
    draft: Draft | None = None,
    **extra: object,
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
        draft=draft or Draft("", {}, "", KEY_PREFIX + secrets.token_urlsafe(16)),
        **extra,
    )


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    return await render_page(panel, request)


def draft_from(form: object) -> Draft:
    from starlette.datastructures import FormData

    assert isinstance(form, FormData)
    key = form_str(form, "key", 100)
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + 16:
        key = KEY_PREFIX + secrets.token_urlsafe(16)
    return Draft(
        topic=form_str(form, "topic", 50),
        bodies={lang: form_str(form, f"body_{lang}", 3000) for lang in languages()},
        source_url=form_str(form, "source_url", 2000),
        key=key,
    )


@requires("moderator")
async def send_update(panel: Panel, request: Request) -> Response:
    form = await request.form()
    draft = draft_from(form)
    action = form_str(form, "action", 20) or "preview"
    errors = [] if draft.topic in TOPICS else ["Choose a topic."]
    default = panel.services.settings.default_language
    filled = draft.filled
    if not filled:
        errors.append("Write the update in at least one language.")
    if draft.source_url and not draft.source_url.startswith(("http://", "https://")):
        errors.append("The source link must start with http:// or https://.")
    if errors:
        return await render_page(panel, request, 400, errors, draft)
    primary = default if default in filled else next(iter(filled))
    async with panel.services.db.session() as session:
        already = await find_broadcast(session, draft.key)
    if already is not None:
        return panel.redirect(
            request,
            "/broadcasts",
            f"This update was already sent to {plural(already.recipients, 'subscriber')}; "
            "nothing was sent again.",
        )
    if action != "send":
        async with panel.services.db.session() as session:
            audience: Counter[tuple[str, str, str]] = Counter()
            for resident in await subscribers(session, draft.topic):
                lang = resolve_language(resident.language, primary)
                audience[(resident.channel, lang, closest_language(lang, filled, primary))] += 1
        sample = {
            lang: broadcast_message(
                Resident(chat_id="preview", language=lang),
                draft.topic,
                filled,
                primary,
                draft.source_url or None,
            ).text
            for lang in dict.fromkeys([*filled, *(lang for _, lang, _ in audience)])
        }
        return await render_page(
            panel,
            request,
            200,
            [],
            draft,
            confirming=True,
            audience=sorted(audience.items()),
            total=sum(audience.values()),
            samples=sample,
        )
    try:
        async with panel.services.db.session() as session:
            sent = await broadcast(
                panel.services,
                draft.key,
                draft.topic,
                filled,
                primary,
                session=session,
                source_url=draft.source_url or None,
                author=request.state.staff.username,
            )
            await audit.record(
                session,
                "broadcast",
                request.state.staff.username,
                f"topic:{draft.topic}",
                None,
                {
                    "topic": draft.topic,
                    "body": filled,
                    "source_url": draft.source_url or None,
                    "recipients": sent,
                    "key": draft.key,
                },
            )
    except PublishError as exc:
        return await render_page(panel, request, 400, [str(exc).capitalize() + "."], draft)
    await after_publish(panel.services)
    return panel.redirect(
        request, "/broadcasts", f"Update queued for {plural(sent, 'subscriber')}."
    )


@requires("viewer")
async def history(panel: Panel, request: Request) -> Response:
    async with panel.services.db.session() as session:
        rows = list(
            (
                await session.scalars(
                    select(Broadcast)
                    .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
                    .limit(200)
                )
            ).all()
        )
        reach = await broadcast_reach(session, [b.key for b in rows[:20]])  # the latest 20
        targeted = await targeted_broadcasts(session)
    return panel.render(request, "broadcasts.html", broadcasts=rows, reach=reach,
                        targeted=targeted, role_label=role_label)


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/subscribers", partial(page, panel), methods=["GET"]),
        Route("/subscribers/broadcast", partial(send_update, panel), methods=["POST"]),
        Route("/broadcasts", partial(history, panel), methods=["GET"]),
    ]
