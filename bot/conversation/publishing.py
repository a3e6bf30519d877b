"""Publishing staff answers: into the knowledge base, and to everyone who asked, once.

Notifications are outbox rows with a de-duplication key per (answer version, resident), so
publishing twice, or a crash and retry, never notifies anyone twice; a correction is a new
version and reaches everyone who received the earlier one.

Every staff operation takes the caller's session (`session=`), so the panel or CLI writes its
audit event in the same transaction as the action: both commit, or neither. The caller then
calls `after_publish(services)` once the transaction has committed (wake the dispatcher,
refresh the indexes). Without a session the function opens and commits its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers import reports
from bot.amplifiers.channel_posts import sync_posts
from bot.texts import replies
from bot.texts.catalogue import FALLBACK, resolve_language, text, topic_label
from domain.db import Database
from domain.media import attach_cluster_media
from domain.messages import OutboundMessage
from domain.models import (
    Answer,
    Broadcast,
    BroadcastRecipient,
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
from domain.settings import Settings
from domain.text import http_url
from domain.variants import confirm_cluster

if TYPE_CHECKING:
    from bot.conversation.indexes import ClusterIndex, KnowledgeIndex
    from bot.delivery.dispatcher import OutboxDispatcher


class PublishingServices(Protocol):
    """What publishing uses of the process (the runtime's `Services` has it): the settings, the
    database, the two indexes to refresh and the dispatcher to wake after a commit."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def knowledge(self) -> KnowledgeIndex: ...

    @property
    def clusters(self) -> ClusterIndex: ...

    @property
    def dispatcher(self) -> OutboxDispatcher: ...


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


@asynccontextmanager
async def _transaction(
    services: PublishingServices, session: AsyncSession | None
) -> AsyncIterator[AsyncSession]:
    """The caller's session as is, or a transaction of our own followed by `after_publish`."""
    if session is not None:
        yield session
        return
    async with services.db.session() as own:
        yield own
    await after_publish(services)


async def publish_answer(
    services: PublishingServices,
    cluster_id: int,
    draft: AnswerDraft,
    *,
    session: AsyncSession | None = None,
) -> PublishResult:
    """Answer a cluster: new knowledge item, cluster answered, every asker notified once."""
    draft.validate()
    async with _transaction(services, session) as session:
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
        await sync_posts(session, services.settings, result.answer_id)  # the public channels
        await reports.send_cards(session, services.settings, result.answer_id)
    return result


async def correct_answer(
    services: PublishingServices,
    answer_id: int,
    draft: AnswerDraft,
    *,
    session: AsyncSession | None = None,
) -> PublishResult:
    """Publish a corrected version; everyone told the earlier version is told again."""
    draft.validate()
    async with _transaction(services, session) as session:
        answer = await session.get(Answer, answer_id)
        if answer is None or answer.knowledge_item_id is None:
            raise PublishError(f"answer {answer_id} does not exist")
        item = await session.get(KnowledgeItem, answer.knowledge_item_id)
        if item is None:
            raise PublishError(f"answer {answer_id} has no knowledge item")
        before_languages = item_languages(item)
        if _unchanged(item, draft):
            raise PublishError("nothing changed: the published answer already says exactly this")
        translation_only = _only_adds_languages(item, draft)
        answer.version += 1
        answer.verdict = item.verdict = draft.verdict
        answer.explanation = item.explanation = draft.explanation.strip()
        answer.translations = item.translations = dict(draft.translations)
        answer.source_url = item.source_url = draft.source_url
        item.language = draft.language
        if draft.claim and draft.claim != item.claim:
            item.claim = draft.claim
            item.embedding = None
        item.status, item.updated_at = ItemStatus.ACTIVE, utcnow()
        added = item_languages(item) - before_languages
        if translation_only:
            # nothing changed but new languages: tell the residents who were waiting for theirs
            notified = await notify_recipients(
                session, answer, item, "notify_translated", only_languages=added
            )
        else:
            notified = await notify_recipients(session, answer, item, "notify_corrected")
        result = PublishResult(answer.id, item.id, notified)
        await sync_posts(session, services.settings, answer.id)  # the channel posts are edited
    return result


async def notify_askers(
    session: AsyncSession,
    cluster_id: int,
    answer: Answer,
    item: KnowledgeItem,
    header_key: str,
    request_ids: Collection[int] | None = None,
) -> int:
    """Queue one notification per resident who asked in the cluster (not opted out).

    `request_ids` limits it to those requests (residents merged into an answered cluster).
    """
    query = (
        select(Request, Resident)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Request.cluster_id == cluster_id)
        .order_by(Request.id)
    )
    if request_ids is not None:
        query = query.where(Request.id.in_(list(request_ids)))
    notified = 0
    seen: set[int] = set()
    for request, resident in (await session.execute(query)).all():
        request.answered_at = request.answered_at or utcnow()
        request.matched_item_id = item.id
        if resident.id in seen or resident.opted_out or resident.blocked:
            continue
        seen.add(resident.id)
        language = resolve_language(resident.language or request.language)
        message = notification(resident, request, item, language, header_key)
        key = f"answer:{answer.id}:v{answer.version}:resident:{resident.id}"
        notified += await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return notified


def item_languages(item: KnowledgeItem) -> set[str]:
    """Languages an answer is written in: its own, and each translation with an explanation."""
    found = {item.language or FALLBACK}
    for lang, fields in (item.translations or {}).items():
        if isinstance(fields, dict) and str(fields.get("explanation") or "").strip():
            found.add(lang)
    return found


# When a resident's language is not written yet, the language they most likely read next
# (the city's lingua franca for each; English is the fallback of last resort).
CLOSEST: dict[str, tuple[str, ...]] = {
    "sw": ("en",),
    "hi": ("en",),
    "ar": ("en", "es"),
    "es": ("en",),
    "id": ("en",),
    "en": ("sw", "es", "id", "hi", "ar"),
}


def closest_language(wanted: str, available: Collection[str], primary: str) -> str:
    if wanted in available:
        return wanted
    for candidate in CLOSEST.get(wanted, ()):
        if candidate in available:
            return candidate
    return primary if primary in available else sorted(available)[0]


def notification(
    resident: Resident,
    request: Request | None,
    item: KnowledgeItem,
    language: str,
    header_key: str,
) -> OutboundMessage:
    """The answer for one resident: in their language, or the closest one written with a note
    in theirs saying so (they are sent it again when their language is added)."""
    shown = closest_language(language, item_languages(item), item.language or FALLBACK)
    header = text(header_key, language)
    if shown != language:
        header += "\n" + text(
            "answer_language_note", language, available=text("language_name", shown)
        )
    message = replies.answer_message(
        resident.chat_id, item, request.id if request else 0, shown, header=header
    )
    return replace(
        message, language=language, reply_to=request.platform_message_id if request else None
    )


async def notify_recipients(
    session: AsyncSession,
    answer: Answer,
    item: KnowledgeItem,
    header_key: str,
    only_languages: Collection[str] | None = None,
) -> int:
    """Everyone who received an earlier version, once each (see `recipients`).

    With `only_languages`, just the residents reading one of them (a translation was added).
    """
    people = await recipients(session, answer.cluster_id, item.id, answer.id)
    told = 0
    for resident, request in people:
        language = reader_language(resident, request)
        if only_languages is not None:
            if language not in only_languages:
                continue
            key = f"answer:{answer.id}:lang:{language}:resident:{resident.id}"
        else:
            key = f"answer:{answer.id}:v{answer.version}:resident:{resident.id}"
        message = notification(resident, request, item, language, header_key)
        told += await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return told


async def recipients(
    session: AsyncSession, cluster_id: int | None, item_id: int | None, answer_id: int | None
) -> list[tuple[Resident, Request | None]]:
    """Each resident (once) who asked in the cluster, was answered with the item, or got the
    answer's broadcast; with their latest request."""
    people: dict[int, tuple[Resident, Request | None]] = {}
    conditions = []
    if cluster_id is not None:
        conditions.append(Request.cluster_id == cluster_id)
    if item_id is not None:
        conditions.append(Request.matched_item_id == item_id)
    if conditions:
        asked = (
            select(Request, Resident)
            .join(Resident, Request.resident_id == Resident.id)
            .where(or_(*conditions))
            .order_by(Request.id.desc())
        )
        for latest, asker in (await session.execute(asked)).all():
            people.setdefault(asker.id, (asker, latest))
    if answer_id is not None:
        reached = (
            select(Resident)
            .join(BroadcastRecipient, BroadcastRecipient.resident_id == Resident.id)
            .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
            .where(Broadcast.answer_id == answer_id)
        )
        for subscriber in (await session.scalars(reached)).all():
            people.setdefault(subscriber.id, (subscriber, None))
    return [(r, q) for r, q in people.values() if not (r.opted_out or r.blocked)]


def reader_language(resident: Resident, request: Request | None) -> str:
    return resolve_language(resident.language or (request.language if request else None))


async def subscribers(session: AsyncSession, topic: str) -> list[Resident]:
    query = select(Resident).where(Resident.opted_out.is_(False), Resident.blocked.is_(False))
    return [r for r in (await session.scalars(query)).all() if topic in (r.topics or [])]


def _draft_item(item: KnowledgeItem, draft: AnswerDraft) -> KnowledgeItem:
    return KnowledgeItem(
        claim=draft.claim or item.claim,
        explanation=draft.explanation.strip(),
        language=draft.language,
        translations=dict(draft.translations),
    )


def _unchanged(item: KnowledgeItem, draft: AnswerDraft) -> bool:
    if draft.verdict != item.verdict or (draft.source_url or None) != (item.source_url or None):
        return False
    new = _draft_item(item, draft)
    languages = item_languages(item)
    return languages == item_languages(new) and all(
        new.text_in(lang) == item.text_in(lang) for lang in languages
    )


def _only_adds_languages(item: KnowledgeItem, draft: AnswerDraft) -> bool:
    """True when the draft keeps verdict, source and every written language as they were and
    only adds translations."""
    if draft.verdict != item.verdict or (draft.source_url or None) != (item.source_url or None):
        return False
    new = _draft_item(item, draft)
    old_languages = item_languages(item)
    if not old_languages <= item_languages(new) or old_languages == item_languages(new):
        return False
    return all(new.text_in(lang) == item.text_in(lang) for lang in old_languages)


async def broadcast(
    services: PublishingServices,
    key: str,
    topic: str,
    body: dict[str, str],
    default_language: str = "en",
    *,
    session: AsyncSession | None = None,
    source_url: str | None = None,
    answer_id: int | None = None,
    author: str | None = None,
) -> int:
    """Send a verified update to every subscriber of `topic`, once per `key` and resident.

    `body` maps language -> text; a subscriber gets their language, or the closest one written
    with a note in theirs. The broadcast and its recipients are recorded (a correction of the
    answer it carried reaches them); a second call with the same `key` sends nothing.
    """
    body = {lang: value.strip() for lang, value in body.items() if value and value.strip()}
    if not body:
        raise PublishError("the update is empty")
    if source_url and not source_url.startswith(("http://", "https://")):
        raise PublishError("the source link must start with http:// or https://")
    sent = 0
    async with _transaction(services, session) as session:
        if await find_broadcast(session, key) is not None:
            return 0
        record = Broadcast(
            key=key[:200],
            topic=topic,
            bodies=body,
            source_url=source_url,
            answer_id=answer_id,
            author=author,
            created_at=utcnow(),
        )
        session.add(record)
        await session.flush()
        primary = default_language if default_language in body else next(iter(body))
        for resident in await subscribers(session, topic):
            message = broadcast_message(resident, topic, body, primary, source_url)
            if await enqueue(
                session,
                resident,
                message,
                OutboxKind.BROADCAST,
                f"broadcast:{key}:resident:{resident.id}",
            ):
                sent += 1
                session.add(
                    BroadcastRecipient(
                        broadcast_id=record.id, resident_id=resident.id, language=message.language
                    )
                )
        record.recipients = sent
    return sent


def broadcast_message(
    resident: Resident,
    topic: str,
    body: dict[str, str],
    primary: str,
    source_url: str | None = None,
) -> OutboundMessage:
    """One subscriber's copy of an update: header, text, source line, in their language (or
    the closest written, with a note)."""
    language = resolve_language(resident.language, primary)
    shown = closest_language(language, body, primary)
    header = text("broadcast_header", language, topic=topic_label(topic, language))
    if shown != language:
        header += "\n" + text(
            "answer_language_note", language, available=text("language_name", shown)
        )
    content = body[shown]
    if source_url:
        content += "\n\n" + text("broadcast_source", language, source=source_url)
    return OutboundMessage(
        chat_id=resident.chat_id,
        text=f"{header}\n\n{content}",
        language=language,
        template="broadcast",
        template_params=(content[:900],),
    )


async def find_broadcast(session: AsyncSession, key: str) -> Broadcast | None:
    found: Broadcast | None = await session.scalar(
        select(Broadcast).where(Broadcast.key == key[:200])
    )
    return found


async def after_publish(services: PublishingServices) -> None:
    """After the transaction committed: send now, and let the indexes see the new answer."""
    services.dispatcher.wake()
    await services.knowledge.refresh()
    await services.clusters.refresh()


def answer_preview(item_fields: dict[str, Any], language: str) -> str:
    """Exactly what a resident will read, for the panel's preview."""
    item = KnowledgeItem(**item_fields)
    return replies.render_answer(item, language)


async def answer_with_existing(
    services: PublishingServices,
    cluster_id: int,
    item_id: int,
    author: str | None = None,
    *,
    session: AsyncSession | None = None,
) -> PublishResult:
    """Answer a cluster with a knowledge item that already exists; every asker notified once."""
    async with _transaction(services, session) as session:
        cluster = await session.get(Cluster, cluster_id)
        item = await session.get(KnowledgeItem, item_id)
        if cluster is None:
            raise PublishError(f"cluster {cluster_id} does not exist")
        if item is None or item.status != ItemStatus.ACTIVE:
            raise PublishError("that fact-check or statement is not active")
        if cluster.answer_id is not None:
            raise PublishError("this question already has an answer; correct that answer instead")
        result = await _answer_cluster(session, cluster, item, author)
        await sync_posts(session, services.settings, result.answer_id)
        await reports.send_cards(session, services.settings, result.answer_id)
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
    await confirm_cluster(session, cluster.id, item)  # its texts are answered with `item` now
    await attach_cluster_media(session, cluster.id, item.id)  # its images now answer too
    notified = await notify_askers(session, cluster.id, answer, item, "notify_answered")
    return PublishResult(answer.id, item.id, notified)


CLOSING_REASONS = (ClusterStatus.SPAM, ClusterStatus.NOT_A_CLAIM, ClusterStatus.OUT_OF_SCOPE)


async def close_cluster(session: AsyncSession, cluster: Cluster, reason: str) -> int:
    """Close an open cluster as spam / not a claim / out of scope; each asker gets one polite
    closing reply in their language (`closed.<reason>` in the catalogue). Returns how many."""
    if reason not in CLOSING_REASONS:
        raise PublishError("choose spam, not a claim or out of scope")
    if cluster.answer_id is not None:
        raise PublishError("this question already has an answer; correct that answer instead")
    cluster.status, cluster.updated_at = reason, utcnow()
    query = (
        select(Request, Resident)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Request.cluster_id == cluster.id)
        .order_by(Request.id)
    )
    told = 0
    seen: set[int] = set()
    for request, resident in (await session.execute(query)).all():
        if resident.id in seen or resident.opted_out or resident.blocked:
            continue
        seen.add(resident.id)
        language = resolve_language(resident.language or request.language)
        message = OutboundMessage(
            chat_id=resident.chat_id,
            text=text(f"closed.{reason}", language),
            language=language,
            reply_to=request.platform_message_id,
        )
        key = f"closed:{cluster.id}:{reason}:resident:{resident.id}"
        told += await enqueue(session, resident, message, OutboxKind.NOTIFICATION, key)
    return told
