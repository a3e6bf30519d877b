"""Publishing staff answers: into the knowledge base, and to everyone who asked, once.

Notifications are outbox rows with a de-duplication key per (answer version, resident), so
publishing twice, or a crash and retry, never notifies anyone twice; a correction is a new
version and reaches everyone who received the earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import replies
from bot.conversation.catalogue import resolve_language, text, topic_label
from bot.runtime.services import Services
from domain.messages import OutboundMessage
from domain.models import (
    Answer,
    Cluster,
    ClusterStatus,
    ItemKind,
    ItemStatus,
    KnowledgeItem,
    OutboxKind,
    Request,
    Resident,
    Verdict,
    utcnow,
)
from domain.outbox import enqueue
from domain.text import http_url


class PublishError(ValueError):
    """The answer cannot be published as given; the message is safe to show to staff."""


@dataclass
class AnswerDraft:
    verdict: str
    explanation: str
    language: str = "en"
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    source_url: str | None = None
    topic: str | None = None
    claim: str | None = None  # defaults to the cluster's representative text
    author: str | None = None

    def validate(self) -> None:
        if self.verdict not in {v.value for v in Verdict}:
            raise PublishError(f"unknown verdict {self.verdict!r}")
        if not self.explanation.strip():
            raise PublishError("the explanation is empty")
        if self.source_url and http_url(self.source_url) is None:
            raise PublishError("the source link must be a web address starting with https://")


@dataclass(frozen=True)
class PublishResult:
    answer_id: int
    knowledge_item_id: int
    notified: int


async def publish_answer(services: Services, cluster_id: int, draft: AnswerDraft) -> PublishResult:
    """Answer a cluster: new knowledge item, cluster answered, every asker notified once."""
    draft.validate()
    async with services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        if cluster is None:
            raise PublishError(f"cluster {cluster_id} does not exist")
        if cluster.answer_id is not None:
            raise PublishError("this question already has an answer; correct that answer instead")
        item = KnowledgeItem(
            kind=ItemKind.STATEMENT,
            claim=(draft.claim or cluster.representative_text)[:5000],
            verdict=draft.verdict,
            explanation=draft.explanation.strip(),
            source_url=draft.source_url,
            publisher=services.settings.publisher_name,
            published_at=utcnow(),
            language=draft.language,
            topic=draft.topic or cluster.topic,
            origin="staff",
            translations=dict(draft.translations),
            status=ItemStatus.ACTIVE,
        )
        session.add(item)
        await session.flush()
        item.external_id = f"cluster-{cluster.id}"
        result = await _answer_cluster(session, cluster, item, draft.author)
    await _after_publish(services)
    return result


async def correct_answer(services: Services, answer_id: int, draft: AnswerDraft) -> PublishResult:
    """Publish a corrected version; everyone told the earlier version is told again."""
    draft.validate()
    async with services.db.session() as session:
        answer = await session.get(Answer, answer_id)
        if answer is None or answer.knowledge_item_id is None:
            raise PublishError(f"answer {answer_id} does not exist")
        item = await session.get(KnowledgeItem, answer.knowledge_item_id)
        if item is None:
            raise PublishError(f"answer {answer_id} has no knowledge item")
        answer.version += 1
        answer.verdict = item.verdict = draft.verdict
        answer.explanation = item.explanation = draft.explanation.strip()
        answer.translations = item.translations = dict(draft.translations)
        answer.source_url = item.source_url = draft.source_url
        if draft.claim:
            item.claim = draft.claim
            item.embedding = None
        item.status, item.updated_at = ItemStatus.ACTIVE, utcnow()
        notified = 0
        if answer.cluster_id is not None:
            notified = await notify_askers(
                session, answer.cluster_id, answer, item, "notify_corrected"
            )
        result = PublishResult(answer.id, item.id, notified)
    await _after_publish(services)
    return result


async def notify_askers(
    session: AsyncSession, cluster_id: int, answer: Answer, item: KnowledgeItem, header_key: str
) -> int:
    """Queue one notification per resident who asked in the cluster (not opted out)."""
    query = (
        select(Request, Resident)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Request.cluster_id == cluster_id)
        .order_by(Request.id)
    )
    notified = 0
    seen: set[int] = set()
    for request, resident in (await session.execute(query)).all():
        request.answered_at = request.answered_at or utcnow()
        request.matched_item_id = item.id
        if resident.id in seen or resident.opted_out or resident.blocked:
            continue
        seen.add(resident.id)
        language = resolve_language(resident.language or request.language)
        message = replace(
            replies.answer_message(
                resident.chat_id, item, request.id, language, header=text(header_key, language)
            ),
            reply_to=request.platform_message_id,
        )
        key = f"answer:{answer.id}:v{answer.version}:resident:{resident.id}"
        notified += await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return notified


async def broadcast(
    services: Services, key: str, topic: str, body: dict[str, str], default_language: str = "en"
) -> int:
    """Send a verified update to every subscriber of `topic`, once per `key` and resident.

    `body` maps language -> text; a subscriber gets their language or `default_language`.
    """
    if not body or not any(v.strip() for v in body.values()):
        raise PublishError("the update is empty")
    sent = 0
    async with services.db.session() as session:
        residents = (
            await session.scalars(
                select(Resident).where(Resident.opted_out.is_(False), Resident.blocked.is_(False))
            )
        ).all()
        for resident in residents:
            if topic not in (resident.topics or []):
                continue
            language = resolve_language(resident.language, default_language)
            content = body.get(language) or body.get(default_language) or next(iter(body.values()))
            header = text("broadcast_header", language, topic=topic_label(topic, language))
            message = OutboundMessage(
                chat_id=resident.chat_id,
                text=f"{header}\n\n{content}",
                language=language,
                template="broadcast",
                template_params=(content[:900],),
            )
            sent += await enqueue(
                session,
                resident,
                message,
                OutboxKind.BROADCAST,
                f"broadcast:{key}:resident:{resident.id}",
            )
    services.dispatcher.wake()
    return sent


async def _after_publish(services: Services) -> None:
    services.dispatcher.wake()
    await services.knowledge.refresh()
    await services.clusters.refresh()


def answer_preview(item_fields: dict[str, Any], language: str) -> str:
    """Exactly what a resident will read, for the panel's preview."""
    item = KnowledgeItem(**item_fields)
    return replies.render_answer(item, language)


async def answer_with_existing(
    services: Services, cluster_id: int, item_id: int, author: str | None = None
) -> PublishResult:
    """Answer a cluster with a knowledge item that already exists; every asker notified once."""
    async with services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        item = await session.get(KnowledgeItem, item_id)
        if cluster is None:
            raise PublishError(f"cluster {cluster_id} does not exist")
        if item is None or item.status != ItemStatus.ACTIVE:
            raise PublishError("that fact-check or statement is not active")
        if cluster.answer_id is not None:
            raise PublishError("this question already has an answer; correct that answer instead")
        result = await _answer_cluster(session, cluster, item, author)
    await _after_publish(services)
    return result


async def _answer_cluster(
    session: AsyncSession, cluster: Cluster, item: KnowledgeItem, author: str | None
) -> PublishResult:
    """Record `item` as the cluster's answer and queue one notification per asker."""
    answer = Answer(
        cluster_id=cluster.id,
        knowledge_item_id=item.id,
        verdict=item.verdict,
        explanation=item.explanation,
        translations=dict(item.translations or {}),
        source_url=item.source_url,
        author=author,
        version=1,
        published_at=utcnow(),
    )
    session.add(answer)
    await session.flush()
    cluster.status, cluster.answer_id = ClusterStatus.ANSWERED, answer.id
    notified = await notify_askers(session, cluster.id, answer, item, "notify_answered")
    return PublishResult(answer.id, item.id, notified)
