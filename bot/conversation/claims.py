"""The claim check: match against the knowledge base, answer, suggest, or queue for staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.conversation import replies
from bot.media.claims import answer_by_media, best_decision, claim_text, media_records
from bot.media.stage import MediaReading
from bot.runtime.metrics import DECISIONS
from bot.runtime.services import Services
from domain.media import copy_request_media
from domain.models import Cluster, ClusterStatus, ItemStatus, KnowledgeItem, Request, utcnow
from matching import Outcome

if TYPE_CHECKING:
    from bot.conversation.turn import Turn

SUGGESTIONS = 3


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
        items = await self._active_items(turn, [int(c.id) for c in decision.candidates])
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
            candidates=[{"id": c.id, "score": round(c.score, 4)} for c in decision.candidates[:5]],
            received_at=turn.message.received_at,
        )
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
        request.outcome = "suggest"
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
        request.outcome, request.matched_item_id, request.answered_at = "answer", item.id, utcnow()
        await turn.quote(
            replies.answer_message(turn.resident.chat_id, item, request.id, turn.language)
        )

    async def choose(self, turn: Turn, request_id: int, item_id: int) -> None:
        """The resident picked one of the suggested candidates."""
        request = await self._own_request(turn, request_id)
        item = await turn.session.get(KnowledgeItem, item_id)
        if request is None or item is None or item.status != ItemStatus.ACTIVE:
            await turn.say("error")
            return
        if not any(str(c.get("id")) == str(item_id) for c in request.candidates):
            await turn.say("error")
            return
        await self._answer(turn, request, item)

    async def none_of_these(self, turn: Turn, request_id: int) -> None:
        request = await self._own_request(turn, request_id)
        if request is None:
            await turn.say("error")
            return
        if request.cluster_id is None:
            await self.queue(turn, request)

    async def queue(self, turn: Turn, request: Request, cluster: Cluster | None = None,
                    reply_key: str = "queued") -> None:
        """Join `cluster` or the most similar open cluster, or start one; tell the resident."""
        request.outcome = "queue"
        if cluster is None:
            cluster = await self._similar_open_cluster(turn, request.text)
        now = utcnow()
        if cluster is None:
            cluster = Cluster(
                representative_text=request.text[:2000],
                status=ClusterStatus.NEW,
                ask_count=0,
                first_seen_at=now,
                last_seen_at=now,
            )
            turn.session.add(cluster)
            await turn.session.flush()
            # a new cluster must be searchable at once (the next similar question joins it);
            # one that only counted another asker is picked up by the periodic refresh
            turn.clusters_changed = True
        cluster.ask_count += 1
        cluster.last_seen_at = now
        request.cluster_id = cluster.id
        await copy_request_media(turn.session, request.id, cluster.id)
        await turn.quote(replies.plain(turn.resident.chat_id, reply_key, turn.language))

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
