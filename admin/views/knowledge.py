"""Knowledge-base pages: list and search, edit, retire, and add a city statement by hand."""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, int_param, requires
from admin.views import knowledge_texts
from bot.texts.catalogue import TOPICS, languages, topic_label
from domain.knowledge import ItemData, retire_item, upsert_item
from domain.models import Answer, ItemKind, ItemStatus, KnowledgeItem, Verdict, utcnow
from domain.variants import variants_of

PAGE = 50
FIELDS = ("claim", "verdict", "explanation", "source_url", "topic", "language", "kind", "status")


def item_state(item: KnowledgeItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in FIELDS}


def item_form(form: FormData) -> tuple[dict[str, Any], list[str]]:
    values = {
        "claim": form_str(form, "claim"),
        "verdict": form_str(form, "verdict", 20),
        "explanation": form_str(form, "explanation"),
        "source_url": form_str(form, "source_url", 2000) or None,
        "topic": form_str(form, "topic", 50) or None,
        "language": form_str(form, "language", 10) or "en",
    }
    errors = []
    if not values["claim"]:
        errors.append("The claim is empty.")
    if values["verdict"] not in {v.value for v in Verdict}:
        errors.append("Choose a verdict.")
    if values["source_url"] and not values["source_url"].startswith(("http://", "https://")):
        errors.append("The source link must start with http:// or https://.")
    if values["topic"] and values["topic"] not in TOPICS:
        errors.append("Choose a valid topic.")
    if values["language"] not in languages():
        errors.append("Choose a language.")
    return values, errors


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(q: str) -> Any:
    """Claim, explanation or any stored translation contains `q` (case-insensitive).

    Translations are a JSON column, stored with non-ASCII letters escaped (\\u0645...), so
    the JSON text is searched for both spellings of the words."""
    stored = json.dumps(q)[1:-1]
    translations = cast(KnowledgeItem.translations, Text)
    return or_(
        KnowledgeItem.claim.ilike(_like(q), escape="\\"),
        KnowledgeItem.explanation.ilike(_like(q), escape="\\"),
        translations.ilike(_like(q), escape="\\"),
        translations.ilike(_like(stored), escape="\\"),
    )


def found_in(item: KnowledgeItem, q: str) -> list[tuple[str, str]]:
    """(language, claim) of the translations that hold the words searched for."""
    words = q.casefold()
    if words in item.claim.casefold() or words in (item.explanation or "").casefold():
        return []
    return [
        (language, str(fields.get("claim") or ""))
        for language, fields in sorted((item.translations or {}).items())
        if isinstance(fields, dict) and any(words in str(v).casefold() for v in fields.values())
    ]


@requires("viewer")
async def list_items(panel: Panel, request: Request) -> Response:
    params = request.query_params
    q, kind, status = (
        params.get("q", "")[:200],
        params.get("kind", ""),
        params.get("status", "active"),
    )
    page = max(int_param(params.get("page"), 1), 1)
    query = select(KnowledgeItem)
    if q:
        query = query.where(matches(q))
    if kind in {k.value for k in ItemKind}:
        query = query.where(KnowledgeItem.kind == kind)
    if status in {s.value for s in ItemStatus}:
        query = query.where(KnowledgeItem.status == status)
    async with panel.services.db.session() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        items = (
            await session.scalars(
                query.order_by(KnowledgeItem.updated_at.desc(), KnowledgeItem.id.desc())
                .limit(PAGE)
                .offset((page - 1) * PAGE)
            )
        ).all()
    return panel.render(
        request,
        "knowledge.html",
        items=items,
        found_in={item.id: found_in(item, q) for item in items} if q else {},
        q=q,
        kind=kind,
        status=status,
        page=page,
        total=total or 0,
        pages=max(1, -(-(total or 0) // PAGE)),
    )


async def _item(panel: Panel, item_id: int) -> tuple[KnowledgeItem | None, dict[str, Any]]:
    """The item and what its page shows beside the form: answer, variants."""
    async with panel.services.db.session() as session:
        item = await session.get(KnowledgeItem, item_id)
        answer = await session.scalar(
            select(Answer).where(Answer.knowledge_item_id == item_id).limit(1)
        )
        variants = await variants_of(session, item_id) if item is not None else []
    return item, {
        "answer": answer,
        "variants": variants,
        "ORIGIN_LABELS": knowledge_texts.ORIGIN_LABELS,
        "TOPIC_LABELS": topic_labels(),
    }


def topic_labels() -> dict[str, str]:
    """The city's topics (domain.topics) with their English labels, for the topic select."""
    return {topic: topic_label(topic, "en") for topic in TOPICS}


@requires("viewer")
async def item_page(panel: Panel, request: Request) -> Response:
    item, extra = await _item(panel, int_param(request.path_params["item_id"]))
    if item is None:
        return panel.render(request, "error.html", status_code=404, message="No such item.")
    return panel.render(
        request, "knowledge_item.html", item=item, values=item_state(item), errors=[], **extra
    )


@requires("moderator")
async def edit_item(panel: Panel, request: Request) -> Response:
    item_id = int_param(request.path_params["item_id"])
    values, errors = item_form(await request.form())
    item, extra = await _item(panel, item_id)
    if item is None:
        return panel.render(request, "error.html", status_code=404, message="No such item.")
    if errors:
        return panel.render(
            request,
            "knowledge_item.html",
            status_code=400,
            item=item,
            values=values,
            errors=errors,
            **extra,
        )
    async with panel.services.db.session() as session:
        row = await session.get(KnowledgeItem, item_id)
        assert row is not None
        before = item_state(row)
        if row.claim != values["claim"]:
            row.embedding = None
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        await audit.record(
            session,
            "edit",
            request.state.staff.username,
            f"item:{item_id}",
            before,
            item_state(row),
        )
    await panel.services.knowledge.refresh()
    return panel.redirect(request, f"/knowledge/{item_id}", "Saved.")


@requires("moderator")
async def retire(panel: Panel, request: Request) -> Response:
    item_id = int_param(request.path_params["item_id"])
    async with panel.services.db.session() as session:
        item = await session.get(KnowledgeItem, item_id)
        if item is None:
            return panel.render(request, "error.html", status_code=404, message="No such item.")
        before = item_state(item)
        await retire_item(session, item_id)
        await audit.record(
            session,
            "retire",
            request.state.staff.username,
            f"item:{item_id}",
            before,
            item_state(item),
        )
    await panel.services.knowledge.refresh()
    return panel.redirect(
        request, f"/knowledge/{item_id}", "Retired: residents will no longer get this answer."
    )


@requires("moderator")
async def new_statement_page(panel: Panel, request: Request) -> Response:
    return panel.render(
        request,
        "knowledge_new.html",
        values={"verdict": "true", "language": "en"},
        errors=[],
        TOPIC_LABELS=topic_labels(),
    )


@requires("moderator")
async def add_statement(panel: Panel, request: Request) -> Response:
    values, errors = item_form(await request.form())
    if errors:
        return panel.render(
            request,
            "knowledge_new.html",
            status_code=400,
            values=values,
            errors=errors,
            TOPIC_LABELS=topic_labels(),
        )
    actor = request.state.staff.username
    async with panel.services.db.session() as session:
        item, _ = await upsert_item(
            session,
            ItemData(
                **values,
                kind=ItemKind.STATEMENT,
                origin="staff-statement",
                external_id=uuid.uuid4().hex,
                publisher=panel.services.settings.publisher_name,
                published_at=utcnow(),
            ),
        )
        await audit.record(
            session, "add_statement", actor, f"item:{item.id}", None, item_state(item)
        )
        item_id = item.id
    await panel.services.knowledge.refresh()
    return panel.redirect(
        request, f"/knowledge/{item_id}", "Statement added to the knowledge base."
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/knowledge", partial(list_items, panel), methods=["GET"]),
        Route("/knowledge/new", partial(new_statement_page, panel), methods=["GET"]),
        Route("/knowledge/new", partial(add_statement, panel), methods=["POST"]),
        Route("/knowledge/{item_id:int}", partial(item_page, panel), methods=["GET"]),
        Route("/knowledge/{item_id:int}", partial(edit_item, panel), methods=["POST"]),
        Route("/knowledge/{item_id:int}/retire", partial(retire, panel), methods=["POST"]),
        *knowledge_texts.routes(panel),
    ]
