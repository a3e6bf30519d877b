"""Media in the conversation: a message with a file becomes a job; a worker reads the file and
hands the claim desk what it found. Nothing here knows which platform the file came from:
the channel the message arrived on is asked for the bytes through `MediaSource.download`.

Voice notes and videos are acknowledged at once ("I am listening..."), photos are not (they
are read in a second or two). A file that is not read within the answer budget is passed to
the team with whatever hashes we have, and the resident is told so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from bot.media.errors import MediaError
from bot.media.probe import sniff
from bot.media.stage import MediaReading, MediaStage, fetch, is_readable, is_slow
from bot.texts.turn import Turn
from domain.messages import InboundMessage, Media
from domain.models import MediaJob, MediaJobStatus, Resident, utcnow
from domain.wakeups import Wakeup

if TYPE_CHECKING:
    from bot.conversation.claims import ClaimDesk
    from bot.conversation.services import Services

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
STALE_AFTER = timedelta(minutes=10)  # a running job this old lost its worker
MAX_ATTEMPTS = 2


def readable_media(message: InboundMessage) -> Media | None:
    """The first attachment the stage can read, if any."""
    return next((m for m in message.media if is_readable(m)), None)


async def accept(turn: Turn) -> None:
    """Queue the message's file for a worker; acknowledge a voice note or video at once."""
    media = readable_media(turn.message)
    if media is None:
        return
    turn.session.add(MediaJob(resident_id=turn.resident.id, payload=turn.message.to_payload(),
                              language=turn.language, status=MediaJobStatus.PENDING,
                              attempts=0, created_at=utcnow()))
    if is_slow(media):
        await turn.say("media_watching" if "video" in media.kind else "media_listening")
    turn.media_queued = True


class MediaFile:
    """The dispatch table's handler for a message carrying a file the stage can read."""

    async def check(self, turn: Turn) -> bool:
        message = turn.message
        return message.callback_data is None and readable_media(message) is not None

    async def handle(self, turn: Turn) -> None:
        await accept(turn)


class MediaWorker:
    """Reads queued files one at a time and answers them through the claim desk."""

    def __init__(self, services: Services, claims: ClaimDesk, stage: MediaStage) -> None:
        self.services, self.claims, self.stage = services, claims, stage
        # a web process queues the job and a worker reads it: the worker is woken through
        # Redis, not left to find the job at its next poll (up to a second later)
        self.wakeup = Wakeup("media", services.redis)

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self.wakeup.listen(stop))
        try:
            while not stop.is_set():
                self.wakeup.event.clear()
                try:
                    while await self.run_once():
                        pass
                except Exception:
                    log.exception("media worker pass failed; will retry")
                await self.wakeup.sleep(stop, POLL_SECONDS)
        finally:
            listener.cancel()

    async def run_once(self, channel: str | None = None) -> bool:
        """Claim and handle one pending job (of residents on `channel` only, when given: the
        terminal chat reads its own files and leaves the service's to its workers); False when
        there was none."""
        job = await self._claim(channel)
        if job is None:
            return False
        await self._handle(job)
        return True

    async def _claim(self, channel: str | None = None) -> MediaJob | None:
        async with self.services.db.session() as session:
            stale = utcnow() - STALE_AFTER
            await session.execute(
                update(MediaJob)
                .where(MediaJob.status == MediaJobStatus.RUNNING, MediaJob.started_at < stale)
                .values(status=MediaJobStatus.PENDING))
            query = (select(MediaJob).where(MediaJob.status == MediaJobStatus.PENDING)
                     .order_by(MediaJob.created_at, MediaJob.id).limit(1))
            if channel is not None:
                query = query.where(MediaJob.resident_id.in_(
                    select(Resident.id).where(Resident.channel == channel)))
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job = (await session.scalars(query)).first()
            if job is None:
                return None
            job.status, job.started_at, job.attempts = MediaJobStatus.RUNNING, utcnow(), \
                job.attempts + 1
            await session.flush()  # expunged unflushed, the claim was lost: answered twice
            session.expunge(job)
            return job

    async def _handle(self, job: MediaJob) -> None:
        message = InboundMessage.from_payload(job.payload)
        media = readable_media(message)
        reading: MediaReading | None = None
        problem: str | None = None
        try:
            if media is None:
                raise MediaError("no readable attachment")
            reading = await self._read(message, media, job.language)
        except MediaError as exc:
            log.info("media refused for job %s: %s", job.id, type(exc).__name__)
            problem = exc.reply_key
        except Exception:
            log.exception("reading media of job %s failed", job.id)
            if job.attempts < MAX_ATTEMPTS:
                await self._release(job)
                return
            problem = "error"
        await self._answer(job, message, reading, problem)

    async def _read(self, message: InboundMessage, media: Media, language: str) -> MediaReading:
        """Download, keep (for staff), and read within the budget; past it, a reading with the
        file's hashes only, marked `passed_to_team`."""
        settings = self.services.settings
        source = self.services.channels.get(message.channel)
        data = await fetch(source, media, self.stage.byte_limit(media.kind),
                           settings.media_download_timeout_seconds)
        sniffed = sniff(data[:64])
        stored = self.stage.store.save(data, sniffed.mime_type)
        task = asyncio.ensure_future(self.stage.read(data, language))
        try:
            reading = await asyncio.wait_for(asyncio.shield(task),
                                             settings.media_answer_budget_seconds)
        except TimeoutError:
            task.add_done_callback(_ignore_result)  # the thread finishes; nobody waits for it
            return MediaReading(sniffed.kind, sniffed.mime_type,
                                hashlib.sha256(data).hexdigest(), stored_as=stored,
                                extra={"passed_to_team": True})
        except MediaError:
            self.stage.store.delete([stored])
            raise
        return replace(reading, stored_as=stored)

    async def _answer(self, job: MediaJob, message: InboundMessage,
                      reading: MediaReading | None, problem: str | None) -> None:
        turn: Turn | None = None
        async with self.services.db.session() as session:
            await session.execute(update(MediaJob).where(MediaJob.id == job.id).values(
                status=MediaJobStatus.DONE, finished_at=utcnow()))
            resident = await session.get(Resident, job.resident_id)
            if resident is None or resident.blocked:  # gone after /forget, or blocked since
                return
            turn = Turn(session, resident, message, job.language)
            if problem is None and reading is not None:
                await self.claims.check(turn, reading)
            elif message.text.strip():  # the file failed, but its caption can still be checked
                await self.claims.check(turn)
            else:
                await turn.say(problem or "error")
        self.services.dispatcher.wake()
        if turn.clusters_changed:
            await self.services.clusters.refresh()
        if turn.knowledge_changed:
            await self.services.knowledge.refresh()

    async def _release(self, job: MediaJob) -> None:
        async with self.services.db.session() as session:
            await session.execute(update(MediaJob).where(MediaJob.id == job.id).values(
                status=MediaJobStatus.PENDING))


def _ignore_result(task: asyncio.Future[MediaReading]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
