"""The channel-agnostic conversation: one inbound message in, replies written to the outbox.

Everything a turn changes (the resident, the request, the cluster, the replies) is written in
one transaction together with the platform message id, so a redelivered update is answered
once and a crash mid-turn loses nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.conversation.claims import ClaimDesk
from bot.conversation.flood import FloodVerdict
from bot.conversation.handlers import Handler, default_handlers, dispatch
from bot.conversation.metrics import MESSAGES_IN, TURN_SECONDS
from bot.conversation.services import Services
from bot.media.desk import MediaWorker
from bot.media.stage import MediaStage
from bot.texts import language, replies
from bot.texts.catalogue import resolve_language, text
from bot.texts.turn import Turn
from domain.arrival import arrive
from domain.db import StorageUnavailable, is_unavailable
from domain.inbox import (
    accept,
    claim_due,
    due_ids,
    note_failure,
    start_processing,
)
from domain.messages import InboundMessage
from domain.models import Resident, utcnow
from domain.outbox import enqueue
from domain.residents import resident_arriving, resident_for
from nlu import detect_language

if TYPE_CHECKING:
    from bot.channels.base import Channel

log = logging.getLogger(__name__)


class Conversation:
    """Hands each inbound message to the first handler of the dispatch table that takes it."""

    def __init__(self, services: Services, handlers: list[Handler] | None = None) -> None:
        self.services = services
        self.claims = ClaimDesk(services)
        self.handlers = default_handlers(services, self.claims) if handlers is None else handlers
        self.media = MediaWorker(services, self.claims, MediaStage(services.settings))
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, message: InboundMessage) -> bool:
        """Store `message` durably, then process it in the background; False for a redelivery.

        Raises `StorageUnavailable` when the database is down, so a webhook can answer 503 and
        the platform delivers again later: nothing acknowledged is ever lost.
        """
        if not await self._store(message):
            return False
        task = asyncio.create_task(self.process(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def answer_before_acknowledging(self, message: InboundMessage) -> None:
        """Store and process `message` in one transaction, for a webhook that acknowledges it
        only afterwards: the inbox row commits with the turn's replies (one statement and one
        transaction fewer than `accept`, no background task). A turn that fails is stored on
        its own and apologised for, like a failed background turn; raises `StorageUnavailable`
        when the database is down, so the platform delivers again later."""
        await self.process(message, store=True)

    async def handle(self, message: InboundMessage) -> None:
        """Accept and process `message` now (polling, the web chat, tests)."""
        if await self._store(message):
            await self.process(message)

    async def wait_idle(self) -> None:
        """Wait for messages accepted by this process to be processed (clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(
        self, older_than: timedelta = timedelta(seconds=30), batches: int = 10
    ) -> int:
        """Process messages that were accepted but never finished (a process died mid-turn, or
        the turn failed): due ones first, each attempt counted; see `domain.inbox`.
        `older_than` moves "now" forward, so tests need not wait for the due time."""
        limit, done = 100, 0
        max_attempts = self.services.settings.inbox_max_attempts
        base = self.services.settings.inbox_retry_seconds
        for _ in range(batches):
            now = utcnow() + timedelta(seconds=base) - older_than
            async with self.services.db.session() as session:
                ids = await due_ids(session, limit, now)
            for row_id in ids:
                async with self.services.db.session() as session:
                    message = await claim_due(session, row_id, max_attempts, now, base)
                if message is not None:
                    await self.process(message)
                    done += 1
            if len(ids) < limit:
                break
        return done

    async def _store(self, message: InboundMessage) -> bool:
        try:
            async with self.services.db.autocommit() as session:  # one statement: no transaction
                stored = await accept(session, message, self.services.settings.inbox_retry_seconds)
            if stored:
                MESSAGES_IN.labels(message.channel).inc()
            return stored
        except Exception as exc:
            if is_unavailable(exc):
                raise StorageUnavailable("the database is unreachable") from exc
            raise

    async def process(self, message: InboundMessage, store: bool = False) -> None:
        """Handle one accepted message; never raises for bad input (a polite reply instead).

        With `store`, the message is not in the inbox yet: its row is written by this turn's
        transaction (`answer_before_acknowledging`)."""
        turn: Turn | None = None
        started = time.perf_counter()
        try:
            async with self.services.db.session() as session:
                reading = self._language_reading(message)
                new = self._first_contact_values(message, reading)
                if store:  # the inbox row and the resident in one statement (PostgreSQL)
                    arrived = await arrive(session, message, new)
                    if arrived is None:
                        return
                    MESSAGES_IN.labels(message.channel).inc()
                    resident, created = arrived
                else:
                    if not await start_processing(session, message):
                        return
                    resident, created = await resident_arriving(
                        session, message.channel, message.sender, seen_at=message.received_at,
                        new=new,
                    )
                if resident.blocked:
                    return
                first_contact = created or resident.consent_at is None
                turn = Turn(session, resident, message, self._language_of(resident, reading))
                turn.first_contact = first_contact
                if await self._flooding(turn):
                    if created:  # no notice was shown: no consent recorded
                        resident.consent_at = None
                    return
                self._privacy_notice(turn)
                await dispatch(self.handlers, turn)
        except Exception as exc:
            if is_unavailable(exc) and store:  # nothing stored, nothing acknowledged
                raise StorageUnavailable("the database is unreachable") from exc
            if is_unavailable(exc):  # left unprocessed in the inbox; `recover` finishes it later
                log.warning(
                    "database unavailable; message %s will be recovered", message.message_id
                )
                return
            log.exception("turn failed for %s message %s", message.channel, message.message_id)
            if store and not await self._store(message):  # rolled back with the turn: keep it
                return
            await self._apologise(message, type(exc).__name__)
        finally:
            self.services.dispatcher.wake()
            channel = self.services.channels.get(message.channel)
            if channel is not None and message.callback_id:
                await self._ack(channel, message.callback_id)
        if turn is not None:
            TURN_SECONDS.observe(time.perf_counter() - started)
            await self._after_commit(turn)

    async def _after_commit(self, turn: Turn) -> None:
        if turn.media_queued:
            self.media.wake()
        if turn.forgotten_files:
            self.media.stage.store.delete(turn.forgotten_files)
        if turn.clusters_changed:
            await self.services.clusters.refresh()
        if turn.knowledge_changed:
            await self.services.knowledge.refresh()
        channel = self.services.channels.get(turn.message.channel)
        for outbound in turn.after_commit:
            if channel is not None:
                try:
                    await channel.send(outbound)
                except Exception as exc:
                    log.warning("direct send failed: %s", type(exc).__name__)

    async def _flooding(self, turn: Turn) -> bool:
        """True when this resident sends too much: slowed first, then blocked."""
        if self.services.flood is None:
            return False
        verdict = await self.services.flood.hit(turn.message.channel, turn.resident.chat_id)
        if verdict == FloodVerdict.BLOCK and not turn.resident.blocked:
            turn.resident.blocked, turn.resident.blocked_at = True, utcnow()
            turn.resident.blocked_reason = "too many messages in an hour"
            log.warning("resident %s blocked for flooding", turn.resident.id)
        elif verdict == FloodVerdict.SLOW_DOWN and not turn.message.in_group:
            await turn.say("slow_down")  # never posted to a whole group: it just waits
        return verdict != FloodVerdict.OK

    def _language_reading(self, message: InboundMessage) -> _LanguageReading:
        """What `message` says about its sender's language, read once per turn (the detection
        is the costly part; a new resident's first values and the turn both use it)."""
        text = message.text if message.callback_data is None and not message.is_command else ""
        return _LanguageReading(
            _detected(text) if text.strip() else None,
            len(text.split()),
            language.served(message.language_hint),
            message.forwarded,
            language.platform_prior(message.channel, message.sender),
        )

    def _language_of(self, resident: Resident, reading: _LanguageReading) -> str:
        """The reply language: the resident's stored one, updated from this message."""
        stored = language.observe(
            resident, reading.detected, reading.words, reading.hint,
            forwarded=reading.forwarded, prior=reading.prior,
        )
        return resolve_language(stored, default=self.services.settings.default_language)

    def _first_contact_values(
        self, message: InboundMessage, reading: _LanguageReading
    ) -> dict[str, Any]:
        """The columns a resident created by this message starts with: the language this turn
        would store (`_language_of` on a blank resident) and, when the privacy notice will be
        shown (`_privacy_notice`), its consent time. Written by the INSERT, so a first contact
        needs no UPDATE; a resident who exists already ignores them."""
        blank = Resident(language=None, language_source=None, language_pending=None,
                         language_pending_count=0)
        self._language_of(blank, reading)
        values: dict[str, Any] = {
            "language": blank.language,
            "language_source": blank.language_source,
            "language_pending": blank.language_pending,
            "language_pending_count": blank.language_pending_count,
        }
        if _command(message) not in _NO_NOTICE:
            values["consent_at"] = utcnow()
        return values

    def _privacy_notice(self, turn: Turn) -> None:
        """On a resident's first contact, on every channel: what we keep and how to delete it,
        under the first reply (the reply itself comes first: a verdict must lead).

        /start shows it in its welcome, and a /forget needs none."""
        if not turn.first_contact or _command(turn.message) in _NO_NOTICE:
            return
        if turn.resident.consent_at is None:  # else written when the resident was created
            turn.resident.consent_at = utcnow()
        turn.notice = text("privacy_notice", turn.language)

    async def _apologise(self, message: InboundMessage, reason: str) -> None:
        """Mark the message done and say sorry; when even that fails, the inbox keeps it for
        `recover` (its attempt is already counted, so it is given up after a few)."""
        try:
            async with self.services.db.session() as session:
                if not await start_processing(session, message):
                    return
                resident = await resident_for(  # seen now: WhatsApp's 24-hour window is open
                    session, message.channel, message.sender, seen_at=message.received_at
                )
                lang = resolve_language(resident.language or message.language_hint)
                await enqueue(session, resident, replies.plain(resident.chat_id, "error", lang))
        except Exception as exc:
            log.error(
                "could not even apologise for message %s (%s)",
                message.message_id,
                type(exc).__name__,
            )
            with contextlib.suppress(Exception):
                async with self.services.db.session() as session:
                    await note_failure(session, message, reason)

    @staticmethod
    async def _ack(channel: Channel, callback_id: str) -> None:
        try:
            await channel.acknowledge_button(callback_id)
        except Exception as exc:  # an expired callback must not break the turn
            log.info("button acknowledgement failed: %s", type(exc).__name__)


_NO_NOTICE = ("/start", "/forget")  # /start shows the notice in its welcome; /forget needs none


class _LanguageReading(NamedTuple):
    detected: str | None
    words: int
    hint: str | None
    forwarded: bool
    prior: str | None


LANGUAGE_CACHE_SIZE = 2048  # texts; a viral afternoon repeats a few hundred
LANGUAGE_CACHE_CHARS = 2000  # longer texts are detected each time (the cache stays small)


_detected_cached = functools.lru_cache(maxsize=LANGUAGE_CACHE_SIZE)(detect_language)


def configure_language_cache(size: int) -> None:
    """Remember up to `size` detected texts in this process (RUMOURBOT_LANGUAGE_CACHE_SIZE)."""
    global _detected_cached  # noqa: PLW0603 - one memo per process, sized at start-up
    _detected_cached = functools.lru_cache(maxsize=size)(detect_language)


def _detected(text: str) -> str | None:
    """`detect_language`, remembered for the texts a viral rumour repeats."""
    return _detected_cached(text) if len(text) <= LANGUAGE_CACHE_CHARS else detect_language(text)


def _command(message: InboundMessage) -> str:
    if not message.is_command:
        return ""
    return message.text.strip().split(" ", 1)[0].split("@")[0].lower()
