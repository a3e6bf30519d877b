"""The claim check: match against the knowledge base, answer, suggest, or queue for staff.

A suggestion never strands a question. The request joins its cluster at once (staff see it in
the queue as "awaiting the resident"); picking a candidate answers it and takes it out of the
cluster; "none of these", or no pick within `suggestion_timeout_minutes`, leaves it queued and
tells the resident once that the team will answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers import reports
from bot.conversation.metrics import DECISIONS
from bot.conversation.offers import readable_offers
from bot.conversation.services import Services
from bot.media.claims import answer_by_media, best_decision, claim_text, media_records
from bot.media.stage import MediaReading
from bot.sharing.offer import offer_after_answer
from bot.texts import replies
from bot.texts.catalogue import resolve_language
from domain.media import copy_request_media
from domain.models import (
    Cluster,
    ClusterStatus,
    ItemStatus,
    KnowledgeItem,
    OutboxKind,
    Request,
    Resident,
    utcnow,
)
from domain.outbox import enqueue
from domain.variants import record_pick
from matching import Candidate, Outcome
from nlu.language import detect_language

if TYPE_CHECKING:
    from bot.texts.turn import Turn

SUGGESTIONS = 3
# Offer a candidate only when it scores at least this share of the top one: the others are
# the same topic, not the same claim. Chosen on clef2020 dev (0.7 to 0.9 give the same gold
# rate there; 0.7 forgives near-ties most): scripts/suggestion_cut.py, docs/conversation.md.
RELATIVE_CUT = 0.7
AWAITING = "suggest"  # Request.outcome while the resident has not picked
NOTIFY_WITHIN = timedelta(days=1)


def close_to_top(candidates: list[Candidate], cut: float = RELATIVE_CUT) -> list[Candidate]:
    """The candidates scoring at least `cut` times the top one, best first, at most three."""
    if not candidates:
        return []
    floor = candidates[0].score * cut
    return [c for c in candidates if c.score >= floor][:SUGGESTIONS]


class ClaimDesk:
    """Decides what to tell a resident about a claim and records the request."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def check(self, turn: Turn, reading: MediaReading | None = None) -> None:
        limit = self.services.settings.max_message_chars
        text = claim_text(turn.message, reading)
        truncated = len(text) > limit
        text = text[:limit]
        decision = await best_decision(self.services.knowledge, turn.message, reading, text,
                                       turn.language)
        DECISIONS.labels(decision.outcome.value).inc()
        offered = (
            close_to_top(decision.candidates)
            if decision.outcome == Outcome.SUGGEST
            else decision.candidates
        )
        items = await self._active_items(turn, [int(c.id) for c in offered])
        if decision.outcome == Outcome.SUGGEST:  # no card in a language the resident lacks
            bar = self.services.knowledge.engine.thresholds.answer
            offered, items = readable_offers(
                offered, items, turn.language, lambda: detect_language(text), bar
            )
        request = Request(
            resident_id=turn.resident.id,
            channel=turn.message.channel,
            platform_message_id=turn.message.message_id,
            text=text,
            media=media_records(turn.message, reading),
            forwarded=turn.message.forwarded,
            language=turn.language,
            outcome=decision.outcome.value,
            confidence=decision.confidence,
            candidates=[{"id": c.id, "score": round(c.score, 4)} for c in offered[:5]],
            received_at=turn.message.received_at,
        )
        if decision.outcome == Outcome.ANSWER and items and reading is None:
            _mark_answered(request, items[0])  # in the INSERT: no UPDATE right after it
        turn.session.add(request)
        await turn.session.flush()
        if reading is not None and await answer_by_media(self, turn, request, reading):
            return
        if truncated:
            await turn.say("truncated")
        if decision.outcome == Outcome.ANSWER and items:
            await self._answer(turn, request, items[0])
        elif decision.outcome in (Outcome.ANSWER, Outcome.SUGGEST) and items:
            await self._suggest(turn, request, items[:SUGGESTIONS])
        elif found := await self._look_outside(turn, text):
            request.candidates = [{"id": str(item.id), "score": None} for item in found]
            await self._suggest(turn, request, found[:SUGGESTIONS])
            turn.knowledge_changed = True
        else:
            await self.queue(turn, request)

    async def _suggest(self, turn: Turn, request: Request, items: list[KnowledgeItem]) -> None:
        """Offer the candidates, and put the request in front of staff already."""
        await self._join_cluster(turn, request)
        request.outcome = AWAITING
        await turn.quote(
            replies.suggestion_message(turn.resident.chat_id, request.id, items, turn.language)
        )

    async def _look_outside(self, turn: Turn, text: str) -> list[KnowledgeItem]:
        """Fact-checkers' databases, within a small time budget, for what we do not know."""
        lookup = self.services.live_lookup
        if lookup is None:
            return []
        return await lookup(self.services, turn.session, text, turn.language)

    async def _answer(self, turn: Turn, request: Request, item: KnowledgeItem) -> None:
        if request.outcome != "answer" or request.matched_item_id != item.id:
            _mark_answered(request, item)
        await turn.quote(
            replies.answer_message(turn.resident.chat_id, item, request.id, turn.language)
        )
        await offer_after_answer(  # the card, to pass on
            self.services.settings, turn, item, self.services.knowledge.published_answer_id
        )

    async def choose(self, turn: Turn, request_id: int, item_id: int) -> None:
        """The resident picked one of the suggested candidates."""
        request = await self._own_request(turn, request_id)
        item = await turn.session.get(KnowledgeItem, item_id)
        offered = request is not None and any(
            str(c.get("id")) == str(item_id) for c in request.candidates
        )
        if request is None or item is None or item.status != ItemStatus.ACTIVE or not offered:
            await turn.say("button_expired")
            return
        await self._leave_cluster(turn, request)
        await self._answer(turn, request, item)
        confirmations = self.services.settings.variant_confirmations
        if await record_pick(turn.session, item, request, confirmations):
            turn.knowledge_changed = True  # a confirmed variant: index it now

    async def none_of_these(self, turn: Turn, request_id: int) -> None:
        request = await self._own_request(turn, request_id)
        if request is None:
            await turn.say("button_expired")
            return
        if request.outcome == "queue":  # told once already (a second tap, or the timeout)
            await turn.say("already_queued")
            return
        await self.queue(turn, request)  # also after a pick: the answer they chose did not fit

    async def queue(self, turn: Turn, request: Request, cluster: Cluster | None = None,
                    reply_key: str = "queued") -> None:
        """Join `cluster`, or the most similar open cluster, or start one; tell the resident."""
        await self._join_cluster(turn, request, cluster)
        request.outcome = "queue"
        if reply_key == "queued" and await reports.acknowledge(turn):  # a field report
            return
        await turn.quote(replies.plain(turn.resident.chat_id, reply_key, turn.language))

    async def _join_cluster(self, turn: Turn, request: Request,
                            cluster: Cluster | None = None) -> None:
        if request.cluster_id is not None:
            return
        if cluster is None:
            cluster = await self._similar_open_cluster(turn, request.text)
        if cluster is None:
            cluster = _cluster_for(request, asked=0)
            turn.session.add(cluster)
            await turn.session.flush()
            # a new cluster must be searchable at once (the next similar question joins it);
            # one that only counted another asker is picked up by the periodic refresh
            turn.clusters_changed = True
        cluster.ask_count += 1
        cluster.last_seen_at = utcnow()
        request.cluster_id = cluster.id
        if request.media:  # a text has no hashes to copy: no query
            await copy_request_media(turn.session, request.id, cluster.id)  # copies join it too

    async def _leave_cluster(self, turn: Turn, request: Request) -> None:
        """The resident found their answer: the request no longer waits for staff.

        A cluster left with nobody waiting, unanswered and untouched by staff, is removed."""
        if request.cluster_id is None:
            return
        cluster = await turn.session.get(Cluster, request.cluster_id)
        request.cluster_id = None
        await turn.session.flush()
        if cluster is None:
            return
        cluster.ask_count = max(0, cluster.ask_count - 1)
        others = await turn.session.scalar(
            select(func.count()).select_from(Request).where(Request.cluster_id == cluster.id)
        )
        if not others and cluster.answer_id is None and cluster.status == ClusterStatus.NEW:
            await turn.session.delete(cluster)
            turn.clusters_changed = True

    async def _similar_open_cluster(self, turn: Turn, text: str) -> Cluster | None:
        threshold = self.services.settings.cluster_threshold
        for candidate in await self.services.clusters.search(text, k=3):
            if candidate.score < threshold:
                break
            cluster = await turn.session.get(Cluster, int(candidate.id))
            if cluster is not None and cluster.status in (
                ClusterStatus.NEW,
                ClusterStatus.IN_REVIEW,
            ):
                return cluster
        return None

    async def _active_items(self, turn: Turn, ids: list[int]) -> list[KnowledgeItem]:
        if not ids:
            return []
        return await self.services.knowledge.active_items(turn.session, ids)

    async def _own_request(self, turn: Turn, request_id: int) -> Request | None:
        request = await turn.session.get(Request, request_id)
        return request if request is not None and request.resident_id == turn.resident.id else None


async def expire_suggestions(services: Services) -> int:
    """Suggestions left without a pick past the timeout: queued, and the resident told once."""
    timeout = timedelta(minutes=services.settings.suggestion_timeout_minutes)
    async with services.db.session() as session:
        return await queue_stale_suggestions(session, utcnow() - timeout)


async def queue_stale_suggestions(session: AsyncSession, before: datetime) -> int:
    """Queue suggestions received before `before`; tell residents who asked in the last day.

    (A suggestion from before this rule existed may have no cluster: it gets one of its own.)"""
    recent = utcnow() - NOTIFY_WITHIN
    query = (
        select(Request, Resident)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Request.outcome == AWAITING, Request.received_at < before)
        .order_by(Request.id)
        .limit(500)
    )
    count = 0
    for request, resident in (await session.execute(query)).all():
        request.outcome = "queue"
        count += 1
        if request.cluster_id is None:
            session.add(cluster := _cluster_for(request))
            await session.flush()
            request.cluster_id = cluster.id
        if resident.opted_out or resident.blocked or request.received_at < recent:
            continue
        language = resolve_language(resident.language or request.language)
        message = replies.plain(resident.chat_id, "queued_after_suggestion", language)
        key = f"suggestion-timeout:{request.id}"
        await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return count


def _mark_answered(request: Request, item: KnowledgeItem) -> None:
    request.outcome, request.matched_item_id, request.answered_at = "answer", item.id, utcnow()


def _cluster_for(request: Request, asked: int = 1) -> Cluster:
    now = utcnow()
    return Cluster(
        representative_text=request.text[:2000],
        status=ClusterStatus.NEW,
        ask_count=asked,
        first_seen_at=now,
        last_seen_at=now,
    )
