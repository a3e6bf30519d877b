"""Fixtures shared by the bot tests: one fake Bot API per test module, and the whole runtime
polling it. A module sets `TELEGRAM = {...}` for settings of its own (a bot username,
channels); the rest are the test settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runtime.app import Runtime
from domain.db import Database
from domain.settings import Settings
from matching import Embedder
from tests.bot.telegram_support import polling_bot
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest,
    settings: Settings,
    database: Database,
    embedder: Embedder,
    fake: FakeTelegram,
) -> AsyncIterator[Runtime]:
    """The runtime polling the freshly reset fake Bot API, with the module's `TELEGRAM`."""
    extra = getattr(request.module, "TELEGRAM", {})
    async with polling_bot(settings, database, embedder, fake, **extra) as rt:
        yield rt
