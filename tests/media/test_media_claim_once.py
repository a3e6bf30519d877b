"""A media job is claimed by one worker only: with two workers, a photo is answered once.

Found by scripts/bench_scaleout.py: with two worker processes, 1 to 2% of residents (the
forwarded photos) got the same answer twice, because a claim was never written.
"""

from __future__ import annotations

import pytest

from domain.db import Database
from domain.models import MediaJob, MediaJobStatus, Resident
from domain.settings import Settings
from matching import Embedder
from tests.bot.channels.test_telegram_e2e import build_runtime

pytestmark = pytest.mark.db


async def test_a_pending_media_job_goes_to_one_worker(settings: Settings, database: Database,
                                                     embedder: Embedder) -> None:
    first, second = (build_runtime(settings, database, embedder) for _ in range(2))
    async with database.session() as session:
        resident = Resident(channel="telegram", chat_id="9001")
        session.add(resident)
        await session.flush()
        job = MediaJob(resident_id=resident.id, payload={}, language="en")
        session.add(job)
    claimed = await first.conversation.media._claim()  # noqa: SLF001 - the claim is the point
    assert claimed is not None and claimed.id == job.id
    assert await second.conversation.media._claim() is None  # noqa: SLF001
    async with database.session() as session:
        row = await session.get(MediaJob, job.id)
        assert row is not None and row.status == MediaJobStatus.RUNNING and row.attempts == 1


