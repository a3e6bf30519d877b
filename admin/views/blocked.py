"""Residents the flood guard blocked, and lifting a block."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, int_param, requires
from domain.models import Resident
from domain.residents import blocked_residents, lift_block


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    async with panel.services.db.session() as session:
        residents = await blocked_residents(session)
    return panel.render(request, "blocked.html", residents=residents)


@requires("moderator")
async def lift(panel: Panel, request: Request) -> Response:
    resident_id = int_param(request.path_params["resident_id"])
    async with panel.services.db.session() as session:
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return panel.render(request, "error.html", status_code=404, message="No such resident.")
        if not resident.blocked:
            return panel.render(
                request, "error.html", status_code=400, message="This resident is not blocked."
            )
        before = {
            "blocked": True,
            "blocked_at": resident.blocked_at,
            "blocked_reason": resident.blocked_reason,
        }
        await lift_block(session, resident_id)
        await audit.record(
            session,
            "unblock",
            request.state.staff.username,
            f"resident:{resident_id}",
            before,
            {"blocked": False},
        )
    if panel.services.flood is not None:
        await panel.services.flood.forgive(resident.channel, resident.chat_id)
    return panel.redirect(request, "/blocked", "Block lifted: the resident can write again.")


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/blocked", partial(page, panel), methods=["GET"]),
        Route("/blocked/{resident_id:int}/lift", partial(lift, panel), methods=["POST"]),
    ]
