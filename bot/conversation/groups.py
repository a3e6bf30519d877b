"""In the groups where rumours spread: quiet unless it can help, and short when it speaks.

A community leader adds the bot to a Telegram group. The channel lets in only what concerns
the bot (`bot.channels.telegram_parse`): forwards, a member asking (a mention, `/check` as a
reply) and `/quiet` / `/unquiet`. Here:
- a forward is answered only when it matches a verified answer with high confidence (the
  engine's ANSWER decision); anything less says nothing and is not kept;
- a member who asked gets the answer, or, when there is none, a short "passed to the team"
  (only then does a group message join the staff's queue);
- an answer is short: the verdict, two lines, the source, the card, and where to ask more;
- at most one reply per rumour per group per day (the outbox's de-duplication key);
- an admin of the group (Telegram says who, through getChatMember) turns it off and on.
No greetings, no privacy notice, no candidate lists, no buttons.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from bot.conversation.claims import ClaimDesk
from bot.conversation.services import Services
from bot.sharing.content import bot_link
from bot.sharing.offer import card_image, published_answer_id
from bot.texts import replies
from bot.texts.catalogue import text
from bot.texts.turn import Turn
from domain.messages import OutboundMessage
from domain.models import KnowledgeItem, OutboxKind, OutboxMessage, Request, utcnow
from domain.outbox import enqueue
from matching import Outcome

log = logging.getLogger(__name__)

QUIET, UNQUIET = "/quiet", "/unquiet"
CLAIM_CHARS = 160
EXPLANATION_CHARS = 280


def reply_key(resident_id: int, item_id: int, day: datetime) -> str:
    """One reply per rumour per group per day."""
    return f"group:{resident_id}:item:{item_id}:{day.date().isoformat()}"


class GroupMessage:
    """Every message from a group; nothing else in the dispatch table sees them."""

    def __init__(self, services: Services, claims: ClaimDesk) -> None:
        self.services = services
        self.claims = claims

    async def check(self, turn: Turn) -> bool:
        return turn.message.in_group

    async def handle(self, turn: Turn) -> None:
        turn.notice = None  # the privacy notice belongs in a one-to-one chat
        message = turn.message
        if message.text in (QUIET, UNQUIET):
            await self._switch(turn, quiet=message.text == QUIET)
            return
        if turn.resident.opted_out:  # turned off by an admin: nothing at all
            return
        if not message.text.strip():
            if message.asked:
                await turn.say("group.check_how")
            return
        await self._check(turn)

    async def _check(self, turn: Turn) -> None:
        message = turn.message
        claim = message.text[: self.services.settings.max_message_chars]
        decision = await self.services.knowledge.decide(claim, turn.language)
        top = [int(c.id) for c in decision.candidates[:1]]
        items = await self.services.knowledge.active_items(turn.session, top) if top else []
        if decision.outcome == Outcome.ANSWER and items:
            await self._answer(turn, items[0], claim, decision.confidence)
        elif message.asked:  # asked, and no verified answer: the team's queue
            request = self._request(turn, claim, decision.outcome.value, decision.confidence)
            turn.session.add(request)
            await turn.session.flush()
            await self.claims.queue(turn, request, reply_key="group.queued")
        # a forward nobody asked about, without a confident match: not a word, nothing kept

    async def _answer(self, turn: Turn, item: KnowledgeItem, claim: str, confidence: float) -> None:
        key = reply_key(turn.resident.id, item.id, turn.message.received_at)
        already = await turn.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)
        )
        if already is not None:
            return  # this group heard about this rumour today
        request = self._request(turn, claim, "answer", confidence)
        request.matched_item_id, request.answered_at = item.id, utcnow()
        turn.session.add(request)
        answer_id = await published_answer_id(turn.session, item.id)
        reply = self.short_answer(turn, item, answer_id)
        await enqueue(turn.session, turn.resident, reply, OutboxKind.REPLY, key)

    def short_answer(
        self, turn: Turn, item: KnowledgeItem, answer_id: int | None
    ) -> OutboundMessage:
        """The verdict and claim, a short explanation, the source, where to ask more."""
        settings = self.services.settings
        language = replies.text_language(item, turn.language)
        _, explanation = item.text_in(language)
        parts = [replies.verdict_line(item, language, CLAIM_CHARS)]
        if explanation.strip():
            parts.append(replies.shorten(explanation, EXPLANATION_CHARS))
        source = item.publisher or text("unknown_publisher", language)
        parts.append(f"{source}: {item.source_url}" if item.source_url else source)
        parts.append(text("group.more", language, link=bot_link(settings)))
        image = None
        if answer_id is not None:
            image = card_image(settings, answer_id, item, language)
        return OutboundMessage(
            chat_id=turn.resident.chat_id,
            text="\n\n".join(parts),
            language=language,
            reply_to=turn.message.reply_to_message_id,
            image=image,
        )

    async def _switch(self, turn: Turn, quiet: bool) -> None:
        """/quiet and /unquiet, for the group's admins only."""
        if not await self._by_admin(turn):
            await turn.say("group.admins_only")
            return
        turn.resident.opted_out = quiet
        await turn.say("group.quiet" if quiet else "group.unquiet")

    async def _by_admin(self, turn: Turn) -> bool:
        message = turn.message
        if message.author is None:
            return False
        if message.author == message.sender:  # an anonymous admin writes as the group itself
            return True
        channel = self.services.channels.get(message.channel)
        is_admin = getattr(channel, "is_group_admin", None)
        if is_admin is None:
            return False
        try:
            return bool(await is_admin(message.sender, message.author))
        except Exception as exc:  # the platform is away: not an admin, this time
            log.info("group admin check failed (%s)", type(exc).__name__)
            return False

    @staticmethod
    def _request(turn: Turn, claim: str, outcome: str, confidence: float) -> Request:
        message = turn.message
        return Request(
            resident_id=turn.resident.id,
            channel=message.channel,
            platform_message_id=message.message_id,
            text=claim,
            media=[],
            forwarded=message.forwarded,
            language=turn.language,
            outcome=outcome,
            confidence=confidence,
            candidates=[],
            received_at=message.received_at,
        )
