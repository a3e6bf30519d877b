"""One process of the product: services, the conversation, channels, the web app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import import_module

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.channels.collecting import CollectingChannel
from bot.channels.registry import Channel, configured_channels
from bot.channels.webchat import WebChat
from bot.conversation import Conversation
from bot.demo_data import load_demo_if_empty
from bot.services import Services
from bot.setup import background, build_services, prepare
from domain.settings import Settings

log = logging.getLogger(__name__)
RECOVERY_SECONDS = 15.0


class Runtime:
    """Wires services, the conversation and the configured channels of one process."""

    def __init__(self, settings: Settings, services: Services | None = None) -> None:
        self.settings = settings
        self.services = services or build_services(settings)
        self.conversation = Conversation(self.services)
        self.webchat_outbox = CollectingChannel("webchat")
        self.services.add_channel(self.webchat_outbox)
        self.channels: list[Channel] = configured_channels(self.services, self.conversation)
        for channel in self.channels:
            self.services.add_channel(channel)

    async def startup(self) -> None:
        await prepare(self.services)
        if self.settings.demo_data:
            await load_demo_if_empty(self.services)

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", lambda _r: RedirectResponse("/chat"), methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ]
        routes += WebChat(self.conversation, self.webchat_outbox).routes()
        for channel in self.channels:
            routes += channel.routes()
        admin = _admin_app(self)
        if admin is not None:
            routes.append(Mount("/admin", app=admin))
        routes += _connector_routes(self)
        return routes

    async def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, _request: Request) -> Response:
        async with self.services.db.session() as session:
            await session.execute(select(1))
        return JSONResponse({"database": "ok"})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start everything this process runs, and stop it in reverse order."""
        await self.startup()
        recover = (RECOVERY_SECONDS, self.conversation.recover)
        async with background(self.services, jobs=[recover]):
            for channel in self.channels:
                await channel.start()
            try:
                yield
            finally:
                for channel in reversed(self.channels):
                    with contextlib.suppress(Exception):
                        await channel.stop()
                await self.conversation.wait_idle()
        await self.services.db.dispose()

    def asgi(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            async with self.running():
                yield

        return Starlette(routes=self.routes(), lifespan=lifespan)


def _admin_app(runtime: Runtime) -> object | None:
    """The moderation panel, when it is installed (`admin.web.build_app(services)`)."""
    try:
        module = import_module("admin.web")
    except ModuleNotFoundError as exc:
        if exc.name in {"admin.web"}:
            return None
        raise
    return module.build_app(runtime.services)


def _connector_routes(runtime: Runtime) -> list[BaseRoute]:
    """Push endpoint, ClaimReview pages and feeds (`factcheck_connectors.web.routes`)."""
    try:
        module = import_module("factcheck_connectors.web")
    except ModuleNotFoundError as exc:
        if exc.name in {"factcheck_connectors.web"}:
            return []
        raise
    routes: list[BaseRoute] = module.routes(runtime.services)
    return routes
