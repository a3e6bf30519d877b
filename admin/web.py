"""The moderation panel as an ASGI app; `bot/runtime/app.py` mounts it at `/admin`."""

from __future__ import annotations

from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from admin.auth import Sessions, signing_key
from admin.deps import PanelServices
from admin.panel import HERE, SECURITY_HEADERS, Panel
from admin.views import (
    answers,
    blocked,
    cards,
    delivery,
    insight,
    invitations,
    knowledge,
    login,
    media,
    queue,
    report,
    sources,
    staff,
    subscribers,
)
from domain.http import SecurityHeaders  # its module registers the bounded {id:int}

VIEWS: tuple[ModuleType, ...] = (
    *(login, queue, answers, knowledge, subscribers, delivery, blocked, insight, staff, media),
    cards,
    invitations,
    sources,
    report,
)


class LoadSessions:
    """Reads the session-signing key from the database on the first request, not at build time."""

    def __init__(self, app: ASGIApp, panel: Panel) -> None:
        self.panel = panel
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.panel.sessions is None and scope["type"] == "http":
            services = self.panel.services
            key = await signing_key(services.db, services.settings)
            self.panel.sessions = Sessions(services.db, services.settings, key)
        await self.app(scope, receive, send)


def build_app(services: PanelServices) -> Starlette:
    """The panel for `services`: the areas in `VIEWS`, static files, headers and sessions."""
    panel = Panel(services)
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")
    ]
    for module in VIEWS:
        routes += module.routes(panel)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return panel.render(
            request, "error.html", status_code=404, message="This page does not exist."
        )

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found},
        middleware=[
            Middleware(SecurityHeaders, headers=SECURITY_HEADERS),
            Middleware(LoadSessions, panel=panel),
        ],
    )
    app.state.panel = panel
    return app
