"""The channel-agnostic conversation: one inbound message in, replies written to the outbox.

Everything a turn changes (the resident, the request, the cluster, the replies) is written in
one transaction together with the platform message id, so a redelivered update is answered
once and a crash mid-turn loses nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot.channels.base import acknowledge_button
from bot.conversation import replies
from bot.conversation.catalogue import resolve_language
from bot.conversation.claims import ClaimDesk
from bot.conversation.commands import Commands
from bot.conversation.turn import Turn
from bot.delivery.flood import FloodVerdict
from bot.media import desk as media_desk
from bot.media.desk import MediaWorker, readable_media
from bot.media.stage import MediaStage
from bot.runtime.metrics import MESSAGES_IN, TURN_SECONDS
from bot.runtime.services import Services
from domain.db import StorageUnavailable, is_unavailable
from domain.inbox import accept, start_processing, unprocessed
from domain.messages import InboundMessage
from domain.models import Resident, utcnow
from domain.outbox import enqueue
from domain.residents import resident_for
from nlu import Intent

log = logging.getLogger(__name__)


class Conversation:
    """Routes an inbound message to a command, a button, an intent or the claim check."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.claims = ClaimDesk(services)
        self.commands = Commands(services, self.claims)
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

    async def handle(self, message: InboundMessage) -> None:
        """Accept and process `message` now (polling, the web chat, tests)."""
        if await self._store(message):
            await self.process(message)

    async def wait_idle(self) -> None:
        """Wait for messages accepted by this process to be processed (clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Process messages that were accepted but never finished (a process died mid-turn)."""
        async with self.services.db.session() as session:
            pending = await unprocessed(session, older_than)
        for message in pending:
            await self.process(message)
        return len(pending)

    async def _store(self, message: InboundMessage) -> bool:
        try:
            async with self.services.db.autocommit() as session:  # one statement: no transaction
                stored = await accept(session, message)
            if stored:
                MESSAGES_IN.labels(message.channel).inc()
            return stored
        except Exception as exc:
            if is_unavailable(exc):
                raise StorageUnavailable("the database is unreachable") from exc
            raise

    async def process(self, message: InboundMessage) -> None:
        """Handle one accepted message; never raises for bad input (a polite reply instead)."""
        turn: Turn | None = None
        started = time.perf_counter()
        try:
            async with self.services.db.session() as session:
                if not await start_processing(session, message):
                    return
                resident = await resident_for(
                    session, message.channel, message.sender, seen_at=message.received_at
                )
                if resident.blocked:
                    return
                turn = Turn(session, resident, message, self._language_of(resident, message))
                if await self._flooding(turn):
                    return
                await self._route(turn)
        except Exception as exc:
            if is_unavailable(exc):  # left unprocessed in the inbox; `recover` finishes it later
                log.warning(
                    "database unavailable; message %s will be recovered", message.message_id
                )
                return
            log.exception("turn failed for %s message %s", message.channel, message.message_id)
            await self._apologise(message)
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

    async def _route(self, turn: Turn) -> None:
        message = turn.message
        if message.callback_data is not None:
            await self.commands.on_button(turn, message.callback_data)
        elif message.is_command:
            await self.commands.on_command(turn, message.text.strip())
        elif readable_media(message) is not None:
            await media_desk.accept(turn)  # read by a media worker, then checked
        elif not message.text.strip():
            await self._no_text(turn)
        elif message.forwarded or message.media:
            await self.claims.check(turn)
        else:
            await self._on_text(turn)

    async def _flooding(self, turn: Turn) -> bool:
        """True when this resident sends too much: slowed first, then blocked."""
        if self.services.flood is None:
            return False
        verdict = await self.services.flood.hit(turn.message.channel, turn.resident.chat_id)
        if verdict == FloodVerdict.BLOCK and not turn.resident.blocked:
            turn.resident.blocked, turn.resident.blocked_at = True, utcnow()
            turn.resident.blocked_reason = "too many messages in an hour"
            log.warning("resident %s blocked for flooding", turn.resident.id)
        elif verdict == FloodVerdict.SLOW_DOWN:
            await turn.say("slow_down")
        return verdict != FloodVerdict.OK

    async def _on_text(self, turn: Turn) -> None:
        parser = self.services.parser
        if parser is None:
            await self.claims.check(turn)
            return
        parsed = await parser.parse(turn.message.text[: self.services.settings.max_message_chars])
        if turn.resident.language is None and parsed.language:
            detected = resolve_language(parsed.language, default="")
            if detected:
                turn.language = detected
        if parsed.intent == Intent.CHECK_CLAIM:
            await self.claims.check(turn)
        else:
            await self.commands.on_intent(turn, parsed.intent, parsed.entities)

    async def _no_text(self, turn: Turn) -> None:
        kinds = {m.kind for m in turn.message.media}
        if kinds & {"photo", "image"}:
            await turn.say("photo_without_caption")
        elif kinds:
            await turn.say("unsupported_media")
        else:
            await turn.say("empty_message")

    def _language_of(self, resident: Resident, message: InboundMessage) -> str:
        default = self.services.settings.default_language
        return resolve_language(resident.language or message.language_hint, default=default)

    async def _apologise(self, message: InboundMessage) -> None:
        """Mark the message done (no endless retries of a poison message) and say sorry."""
        try:
            async with self.services.db.session() as session:
                if not await start_processing(session, message):
                    return
                resident = await resident_for(session, message.channel, message.sender)
                lang = resolve_language(resident.language or message.language_hint)
                await enqueue(session, resident, replies.plain(resident.chat_id, "error", lang))
        except Exception:
            log.exception("could not even apologise to a resident")

    @staticmethod
    async def _ack(channel: object, callback_id: str) -> None:
        try:
            await acknowledge_button(channel, callback_id)  # type: ignore[arg-type]
        except Exception as exc:  # an expired callback must not break the turn
            log.info("button acknowledgement failed: %s", type(exc).__name__)
