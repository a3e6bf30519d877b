"""Outbound messages that need a decision: dead letters and messages in doubt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import OUTBOX_LABELS, Panel, int_param, requires
from domain.inbox import given_up
from domain.models import OutboxKind, OutboxMessage
from domain.outbox import discard, needing_attention, send_again, status_counts

KIND_LABELS = {
    OutboxKind.REPLY: "Reply",
    OutboxKind.NOTIFICATION: "Answer notification",
    OutboxKind.BROADCAST: "Verified update",
}
Action = Callable[[AsyncSession, int], Awaitable[OutboxMessage | None]]


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    async with panel.services.db.session() as session:
        rows = await needing_attention(session)
        counts = await status_counts(session)
        given_up_total, given_up_rows = await given_up(session)
    return panel.render(
        request,
        "delivery.html",
        rows=rows,
        counts=[(label, counts.get(status, 0), status) for status, label in OUTBOX_LABELS.items()],
        kinds=KIND_LABELS,
        given_up_total=given_up_total,
        given_up=given_up_rows,
    )


async def decide(panel: Panel, request: Request, action: Action, event: str, done: str) -> Response:
    """Apply `action` to a dead or in-doubt message, with one audit event; 404/400 otherwise."""
    outbox_id = int_param(request.path_params["outbox_id"])
    async with panel.services.db.session() as session:
        row = await session.get(OutboxMessage, outbox_id)
        if row is None:
            return panel.render(request, "error.html", status_code=404, message="No such message.")
        before = row.status
        if await action(session, outbox_id) is None:
            label = OUTBOX_LABELS.get(before, before)
            return panel.render(
                request,
                "error.html",
                status_code=400,
                message=f"Message #{outbox_id} no longer needs a decision ({label.lower()}).",
            )
        await audit.record(
            session,
            event,
            request.state.staff.username,
            f"outbox:{outbox_id}",
            {"status": before},
            {"status": str(row.status)},
        )
    return panel.redirect(request, "/delivery", done.format(id=outbox_id))


@requires("moderator")
async def resend(panel: Panel, request: Request) -> Response:
    response = await decide(
        panel, request, send_again, "send_again", "Message #{id} will be sent again."
    )
    panel.services.dispatcher.wake()  # after the commit; harmless when nothing was queued
    return response


@requires("moderator")
async def drop(panel: Panel, request: Request) -> Response:
    return await decide(panel, request, discard, "discard", "Message #{id} discarded.")


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/delivery", partial(page, panel), methods=["GET"]),
        Route("/delivery/{outbox_id:int}/send-again", partial(resend, panel), methods=["POST"]),
        Route("/delivery/{outbox_id:int}/discard", partial(drop, panel), methods=["POST"]),
    ]
