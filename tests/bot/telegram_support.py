"""Set-up shared by the bot tests that run the whole runtime against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.db import Database
from domain.models import Cluster, ClusterStatus, utcnow
from domain.settings import Settings
from matching import Embedder
from tests.admin.conftest import add_user, login
from tests.bot.channels.test_telegram_e2e import build_runtime, telegram_settings
from tests.fakes.telegram_api import FakeTelegram

LIONS = "Lions escaped from the national park and are walking in the market tonight"


@asynccontextmanager
async def polling_bot(
    settings: Settings, database: Database, embedder: Embedder, fake: FakeTelegram,
    **extra: Any,
) -> AsyncIterator[Runtime]:
    """A runtime polling the (freshly reset) fake Bot API, with `extra` settings."""
    fake.reset()
    tg = telegram_settings(settings, fake, telegram_mode="polling", **extra)
    rt = build_runtime(tg, database, embedder)
    async with rt.running():
        yield rt


async def publish_claim(rt: Runtime, draft: AnswerDraft, claim: str = LIONS) -> int:
    """A new cluster for `claim`, answered with `draft`; the answer's id."""
    async with rt.services.db.session() as session:
        now = utcnow()
        cluster = Cluster(representative_text=claim, status=ClusterStatus.NEW, ask_count=0,
                          first_seen_at=now, last_seen_at=now)
        session.add(cluster)
        await session.flush()
        cluster_id = cluster.id
    return (await publish_answer(rt.services, cluster_id, draft)).answer_id


@asynccontextmanager
async def panel_as(rt: Runtime, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """`rt`'s panel, logged in as a new staff member with `role` (named after it)."""
    app = Starlette(routes=rt.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8080") as panel:
        await add_user(rt, role, role)
        assert (await login(panel, role)).status_code == 303
        yield panel
