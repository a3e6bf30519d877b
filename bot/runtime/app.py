"""One process of the product: services, the conversation, channels, the web app.

Roles: `all` (the embedded default: everything in one process), `web` (webhooks, web chat,
panel; accepts messages and answers them), `worker` (outbox delivery, crash recovery,
connectors, scheduled jobs). Any number of web and worker processes share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.channels.base import Channel
from bot.channels.registry import configured_channels
from bot.channels.webchat import WebChat, WebChatOutbox
from bot.conversation.claims import expire_suggestions
from bot.conversation.core import Conversation
from bot.conversation.services import Services
from bot.delivery.window import remind_before_window_closes
from bot.media.uploads import LocalUploads
from bot.runtime.allocator import trimming
from bot.runtime.demo import load_demo
from bot.runtime.firstrun import FirstRun
from bot.runtime.logs import RequestIdMiddleware
from bot.runtime.memtrace import memory_trace
from bot.runtime.metrics import metrics_endpoint
from bot.runtime.residency import populate_mapped_data_files
from bot.runtime.wiring import (
    Job,
    LazyParser,
    Loop,
    background,
    build_services,
    parser_from,
    prepare,
)
from domain.db import StorageUnavailable
from domain.http import SecurityHeaders
from domain.retention import purge, purge_media_jobs
from domain.settings import Settings

log = logging.getLogger(__name__)
PURGE_SECONDS = 3600.0
SUGGESTION_SECONDS = 60.0
SPIKE_SECONDS = 60.0
WINDOW_SECONDS = 300.0


class Role(enum.StrEnum):
    ALL = "all"
    WEB = "web"
    WORKER = "worker"


class Runtime:
    """Wires services, the conversation and the configured channels of one process."""

    def __init__(
        self, settings: Settings, services: Services | None = None, role: Role = Role.ALL
    ) -> None:
        self.settings = settings
        self.role = role
        if services is None:
            lazy = LazyParser(lambda: parser_from(settings)) if role == Role.WORKER else None
            services = build_services(settings, parser=lazy)
        self.services = services
        self.conversation = Conversation(self.services)
        self.webchat_outbox = WebChatOutbox(self.services.db, uploads=LocalUploads(settings))
        self.services.add_channel(self.webchat_outbox)
        self.channels: list[Channel] = configured_channels(self.services, self.conversation)
        for channel in self.channels:
            self.services.add_channel(channel)

    @property
    def receives(self) -> bool:
        return self.role in (Role.ALL, Role.WEB)

    @property
    def delivers(self) -> bool:
        return self.role in (Role.ALL, Role.WORKER)

    async def startup(self) -> None:
        await prepare(self.services)
        if self.settings.demo_data and self.role == Role.ALL:
            await load_demo(self.services, only_if_empty=True)
        if self.receives:
            await self.load_models()

    async def load_models(self) -> None:
        """Embed once, so the model is loaded before the first resident's message, then make
        its mapped weights resident (runtime/residency.py): read page by page as new words
        arrive, they grew the web's RSS for hours."""
        await self.services.knowledge.search("warm-up", 1)
        await asyncio.to_thread(populate_mapped_data_files)

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(self.services.db, self.settings), methods=["GET"]),
        ]
        if not self.receives:
            return routes
        first_run = FirstRun(self.services, tuple(channel.name for channel in self.channels))
        routes.append(Route("/", first_run.page, methods=["GET"]))
        routes += WebChat(self.services, self.conversation, self.webchat_outbox).routes()
        for channel in self.channels:
            routes += channel.routes()
        routes += _optional("factcheck_connectors.web", "routes", self.services) or []
        admin = _optional("admin.web", "build_app", self.services)
        if admin is not None:
            routes.append(Mount("/admin", app=admin))
        return routes

    async def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, _request: Request) -> Response:
        """Ready when the database (and Redis, when configured) answer."""
        checks: dict[str, str] = {}
        try:
            async with self.services.db.session() as session:
                await session.execute(select(1))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        if self.services.redis is not None:
            try:
                await self.services.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = type(exc).__name__
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(checks, status_code=200 if ready else 503)

    def jobs(self) -> list[tuple[float, Job]]:
        """Scheduled work of this role (recovery is safe to run in several workers at once)."""
        if not self.delivers:
            return []
        return [
            (self.settings.inbox_recovery_seconds, self.conversation.recover),
            (PURGE_SECONDS, self.purge),
            (SUGGESTION_SECONDS, self.expire_suggestions),
            (SPIKE_SECONDS, self.check_spikes),
            (WINDOW_SECONDS, self.remind_before_window_closes),
        ]

    async def remind_before_window_closes(self) -> None:
        """Unanswered WhatsApp questions late in their 24-hour window: "still checking"."""
        after = timedelta(hours=self.settings.whatsapp_window_reminder_hours)
        async with self.services.db.session() as session:
            queued = await remind_before_window_closes(
                session, after, self.services.dispatcher.clock()
            )
        if queued:
            self.services.dispatcher.wake()

    async def check_spikes(self) -> None:
        """Spike alerts to the staff on duty (admin.alerts; nothing without the panel)."""
        job = _optional("admin.alerts", "check_spikes", self.services)
        if job is not None:
            await job

    async def expire_suggestions(self) -> None:
        """Suggestions left without a pick: queued for staff, the resident told once."""
        if await expire_suggestions(self.services):
            self.services.dispatcher.wake()

    async def purge(self) -> None:
        """Delete delivered messages and processed inbox rows past the retention period."""
        keep = timedelta(days=self.settings.retention_days)
        async with self.services.db.session() as session:
            sent, seen = await purge(session, keep)
            await purge_media_jobs(session, keep)
        self.conversation.media.stage.store.purge(keep.total_seconds())
        if sent or seen:
            log.info("retention: deleted %d sent messages and %d inbox rows", sent, seen)

    def loops(self) -> list[Loop]:
        """Long-running work of this role: the connectors' runner (one lease per source)."""
        if not self.delivers:
            return []
        runner = _optional("factcheck_connectors.runner", "Runner", self.services)
        loops: list[Loop] = [self.conversation.media.run]
        return loops + ([runner.run_forever] if runner is not None else [])

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start everything this role runs, and stop it in reverse order."""
        trace = memory_trace(
            self.settings.memory_trace_minutes,
            self.settings.memory_trace_file,
            self.settings.memory_trace_frames,
        )
        async with trace, trimming(self.settings.malloc_trim_seconds), self._running():
            yield

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        await self.startup()
        async with background(
            self.services, deliver=self.delivers, jobs=self.jobs(), loops=self.loops()
        ):
            await asyncio.gather(*(_start(c, self.receives) for c in self.channels))
            try:
                yield
            finally:
                for task in list(_retrying):
                    task.cancel()
                for channel in reversed(self.channels):
                    with contextlib.suppress(Exception):
                        await channel.stop()
                await self.conversation.wait_idle()
        if self.services.redis is not None:
            # the last turns' wake-ups go out before the pool closes (else a warning each stop)
            await self.services.dispatcher.wakeup.published()
            await self.conversation.media.wakeup.published()
            await self.services.redis.aclose()
        await self.services.db.dispose()

    def asgi(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            async with self.running():
                yield

        return Starlette(
            routes=self.routes(),
            lifespan=lifespan,
            middleware=[Middleware(RequestIdMiddleware), Middleware(SecurityHeaders)],
            exception_handlers={StorageUnavailable: _unavailable},
        )


async def _start(channel: Channel, receive: bool) -> None:
    """Both halves where this process receives; workers only send (`start_sending`).

    A channel that cannot start (a rejected token, no network) is logged in one line and
    retried in the background; the rest of the product (web chat, panel, other channels)
    runs meanwhile. Only the exception's class is logged: its text may carry a secret."""
    start = channel.start_receiving if receive else channel.start_sending
    try:
        await start()
    except Exception as exc:
        log.error(
            "%s channel did not start (%s); retrying in the background",
            channel.name,
            type(exc).__name__,
        )
        task = asyncio.ensure_future(_retry_start(channel, start))
        _retrying.add(task)
        task.add_done_callback(_retrying.discard)


_retrying: set[asyncio.Future[None]] = set()
START_RETRY_SECONDS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0)


async def _retry_start(channel: Channel, start: Callable[[], Awaitable[None]]) -> None:
    for attempt in itertools.count():
        await asyncio.sleep(START_RETRY_SECONDS[min(attempt, len(START_RETRY_SECONDS) - 1)])
        with contextlib.suppress(Exception):
            await channel.stop()  # whatever the failed start left half-open
        try:
            await start()
        except Exception as exc:
            log.debug("%s channel still not starting (%s)", channel.name, type(exc).__name__)
            continue
        log.info("%s channel started after %d retries", channel.name, attempt + 1)
        return


async def _unavailable(_request: Request, _exc: Exception) -> Response:
    """The database is down: 503 makes Telegram and Meta deliver the update again later."""
    return PlainTextResponse(
        "temporarily unavailable", status_code=503, headers={"Retry-After": "5"}
    )


def _optional(module_name: str, attribute: str, services: Services) -> Any:
    """Call `module.attribute(services)` when that optional module is installed."""
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attribute)(services)
