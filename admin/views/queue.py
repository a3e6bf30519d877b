"""The queue of unanswered clusters, a cluster's page, and the actions on a cluster."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.clusters import (
    ClusterError,
    QueueFilter,
    merge,
    queue,
    requests_of,
    snapshot,
    split,
    summarise,
)
from admin.panel import Panel, form_str, int_param, requires
from admin.views.media import can_download
from bot.conversation.catalogue import TOPICS
from bot.conversation.claims import AWAITING
from bot.conversation.publishing import PublishError, answer_with_existing
from domain.models import (
    AdminUser,
    Answer,
    Cluster,
    ClusterNote,
    ClusterStatus,
    KnowledgeItem,
    utcnow,
)
from domain.models import Request as ResidentRequest

STATUSES = {s.value for s in ClusterStatus}


async def staff_names(panel: Panel) -> list[str]:
    async with panel.services.db.session() as session:
        query = select(AdminUser.username).where(
            AdminUser.active.is_(True), AdminUser.role != "viewer"
        )
        return sorted((await session.scalars(query)).all())


@requires("viewer")
async def queue_page(panel: Panel, request: Request) -> Response:
    params = request.query_params
    filters = QueueFilter(
        status=params.get("status", "open"),
        language=params.get("language", "")[:10],
        topic=params.get("topic", "")[:50],
        assignee=params.get("assignee", "")[:100],
    )
    async with panel.services.db.session() as session:
        rows = await queue(session, filters)
        awaiting = await awaiting_the_resident(session, [row.cluster.id for row in rows])
    return panel.render(
        request,
        "queue.html",
        rows=rows,
        filters=filters,
        staff_names=await staff_names(panel),
        awaiting=awaiting,
    )


async def awaiting_the_resident(session: AsyncSession, cluster_ids: list[int]) -> dict[int, int]:
    """Per cluster, the requests offered candidates the resident has not picked from yet."""
    if not cluster_ids:
        return {}
    query = (
        select(ResidentRequest.cluster_id, func.count())
        .where(ResidentRequest.cluster_id.in_(cluster_ids), ResidentRequest.outcome == AWAITING)
        .group_by(ResidentRequest.cluster_id)
    )
    rows = (await session.execute(query)).all()
    return {int(cluster_id or 0): int(n) for cluster_id, n in rows}


async def closest_items(panel: Panel, text: str) -> list[tuple[KnowledgeItem, float]]:
    candidates = await panel.services.knowledge.search(text, k=5)
    async with panel.services.db.session() as session:
        found = []
        for candidate in candidates:
            item = await session.get(KnowledgeItem, int(candidate.id))
            if item is not None:
                found.append((item, round(candidate.score, 3)))
    return found


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
    closest = await closest_items(panel, cluster.representative_text)
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
    if status and status not in STATUSES - {ClusterStatus.ANSWERED}:
        return panel.render(
            request, "error.html", status_code=400, message="Choose a valid status."
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


@requires("moderator")
async def merge_cluster(panel: Panel, request: Request) -> Response:
    cluster_id = int_param(request.path_params["cluster_id"])
    target_id = int_param(form_str(await request.form(), "target", 20).lstrip("#"), -1)
    actor = request.state.staff.username
    try:
        async with panel.services.db.session() as session:
            source, target = await merge(session, cluster_id, target_id)
            await audit.record(
                session,
                "merge",
                actor,
                f"cluster:{cluster_id}",
                {"cluster": cluster_id, "into": None},
                {"cluster": cluster_id, "into": target_id, "target": snapshot(target)},
            )
    except ClusterError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    await panel.services.clusters.refresh()
    return panel.redirect(
        request, f"/clusters/{target_id}", f"Merged #{cluster_id} into this cluster."
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
        result = await answer_with_existing(panel.services, cluster_id, item_id, author=actor)
    except PublishError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    async with panel.services.db.session() as session:
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
    return panel.redirect(
        request,
        f"/clusters/{cluster_id}",
        f"Answered. {result.notified} residents will be notified.",
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/", partial(queue_page, panel), methods=["GET"], name="queue"),
        Route("/clusters/{cluster_id:int}", partial(cluster_page, panel), methods=["GET"]),
        Route(
            "/clusters/{cluster_id:int}/update", partial(update_cluster, panel), methods=["POST"]
        ),
        Route("/clusters/{cluster_id:int}/notes", partial(add_note, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/merge", partial(merge_cluster, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/split", partial(split_request, panel), methods=["POST"]),
        Route("/clusters/{cluster_id:int}/use", partial(use_existing, panel), methods=["POST"]),
    ]
