"""Keep personal data no longer than needed: delivered messages and processed inbox rows go.

Requests (what residents asked) stay until the resident sends /forget, because staff and the
dashboard need them; the copies of messages in the outbox and inbox are only plumbing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    InboxMessage,
    MediaJob,
    MediaJobStatus,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)


async def purge(session: AsyncSession, keep: timedelta) -> tuple[int, int]:
    """Delete finished outbox rows (sent, dead, in doubt, discarded) and processed inbox rows
    older than `keep`."""
    cutoff = utcnow() - keep
    sent = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_(
                [
                    OutboxStatus.SENT,
                    OutboxStatus.DEAD,
                    OutboxStatus.IN_DOUBT,
                    OutboxStatus.DISCARDED,
                ]
            ),
            OutboxMessage.created_at < cutoff,
        )
    )
    seen = await session.execute(
        delete(InboxMessage).where(
            InboxMessage.processed_at.is_not(None), InboxMessage.received_at < cutoff
        )
    )
    return int(getattr(sent, "rowcount", 0)), int(getattr(seen, "rowcount", 0))


async def purge_media_jobs(session: AsyncSession, keep: timedelta) -> int:
    """Delete finished media jobs (each holds a copy of a resident's message) older than `keep`;
    the files themselves are deleted by `bot.media.store.MediaStore.purge`."""
    result = await session.execute(
        delete(MediaJob).where(
            MediaJob.status == MediaJobStatus.DONE, MediaJob.created_at < utcnow() - keep
        )
    )
    return int(getattr(result, "rowcount", 0))
