"""Web routes: the push endpoint for a city's CMS, ClaimReview pages and feeds, update feeds,
and the OpenAPI description of the push endpoint."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import read_body_limited
from bot.sharing import web as sharing
from domain.http import bounded_id
from domain.models import Source, utcnow
from domain.text import clip
from factcheck_connectors import feeds
from factcheck_connectors.base import SourceInvalid
from factcheck_connectors.deps import ConnectorServices
from factcheck_connectors.openapi import openapi_document
from factcheck_connectors.push import parse_push, token_matches
from factcheck_connectors.runner import count_items, origin_of
from factcheck_connectors.store import ingest

MAX_BODY = 5_000_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Endpoints:
    def __init__(self, services: ConnectorServices) -> None:
        self.services = services

    async def push(self, request: Request) -> Response:
        name = request.path_params["name"]
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        async with self.services.db.session() as session:
            source = (await session.scalars(select(Source).where(Source.name == name))).first()
            known = source is not None and source.kind == "push" and source.enabled
            if (
                not known
                or not token
                or not token_matches(token, source.token_hash if source else None)
            ):
                return _error(401, "unknown source or wrong token")
        body = await read_body_limited(request, MAX_BODY)
        if body is None:
            return _error(413, f"the body is larger than {MAX_BODY} bytes")
        language = str((source.config or {}).get("language") or "en") if source else "en"
        try:
            items, retired = parse_push(json.loads(body), language)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "the body is not valid JSON (or nested too deeply)")
        except SourceInvalid as exc:
            return _error(422, str(exc))
        async with self.services.db.session() as session:
            counts = await ingest(session, origin_of(name), items, retired)
            row = (await session.scalars(select(Source).where(Source.name == name))).one()
            row.last_success_at, row.failures = utcnow(), 0
            row.last_run_items = counts.changed
            row.items_total = await count_items(session, name)
        await self.services.items_written()
        return JSONResponse(
            {
                "received": len(items),
                "changed": counts.changed,
                "unchanged": counts.unchanged,
                "duplicates": counts.duplicates,
                "retired": counts.retired,
            },
            status_code=200,
        )

    async def claim(self, request: Request) -> Response:
        answer_id = bounded_id(str(request.path_params["answer_id"]))
        if answer_id is None:
            return _error(404, "no such answer")
        lang = clip(request.query_params.get("lang"), 10)
        entries = await feeds.published(self.services.db, lang=lang, answer_id=answer_id)
        if not entries:
            return _error(404, "no such answer")
        settings = self.services.settings
        if "application/ld+json" in request.headers.get("accept", ""):
            return Response(
                feeds.json_ld(feeds.claim_review(settings, entries[0])),
                media_type="application/ld+json",
            )
        return HTMLResponse(feeds.claim_page(settings, entries[0]))

    async def claimreview_feed(self, request: Request) -> Response:
        topic, lang = self._filters(request)
        entries = await feeds.published(self.services.db, topic, lang, limit=None)
        reviews = [feeds.claim_review(self.services.settings, e) for e in entries]
        return Response(json.dumps(reviews, ensure_ascii=False), media_type="application/json")

    async def updates_rss(self, request: Request) -> Response:
        topic, lang = self._filters(request)
        entries = await feeds.published(self.services.db, topic, lang)
        return Response(
            feeds.rss(self.services.settings, entries, self._self_url(request)),
            media_type="application/rss+xml",
        )

    async def updates_atom(self, request: Request) -> Response:
        topic, lang = self._filters(request)
        entries = await feeds.published(self.services.db, topic, lang)
        return Response(
            feeds.atom(self.services.settings, entries, self._self_url(request)),
            media_type="application/atom+xml",
        )

    async def openapi(self, _request: Request) -> Response:
        return JSONResponse(openapi_document(self.services.settings.public_url))

    def _self_url(self, request: Request) -> str:
        """The feed's own address from RUMOURBOT_PUBLIC_URL, never from the Host header."""
        query = request.url.query
        base = self.services.settings.public_url.rstrip("/") + request.url.path
        return base + ("?" + query if query else "")

    @staticmethod
    def _filters(request: Request) -> tuple[str | None, str | None]:
        params: Any = request.query_params
        return clip(params.get("topic"), 50), clip(params.get("lang"), 10)


def routes(services: ConnectorServices) -> list[BaseRoute]:
    e = Endpoints(services)
    return [
        Route("/api/sources/{name}/statements", e.push, methods=["POST"]),
        Route("/api/openapi.json", e.openapi, methods=["GET"]),
        Route("/claims/{answer_id}", e.claim, methods=["GET"]),
        *sharing.routes(services.db, services.settings),
        Route("/feeds/claimreview.json", e.claimreview_feed, methods=["GET"]),
        Route("/feeds/updates.rss", e.updates_rss, methods=["GET"]),
        Route("/feeds/updates.atom", e.updates_atom, methods=["GET"]),
    ]
