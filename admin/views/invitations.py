"""Invitations and roles: codes with Telegram / WhatsApp links and QR codes, and who has a role."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin.panel import Panel, form_str, int_param, requires
from bot.amplifiers import invitations
from bot.amplifiers.reach import invitation_reach
from bot.amplifiers.roles import RoleError, areas, role_label, roles
from bot.texts.catalogue import languages
from domain.models import Invitation, Resident, SubscriberProfile


async def render_page(
    panel: Panel, request: Request, status_code: int = 200, errors: list[str] | None = None
) -> Response:
    settings = panel.services.settings
    async with panel.services.db.session() as session:
        rows = (await session.scalars(select(Invitation).order_by(Invitation.id.desc()))).all()
        people = (
            await session.execute(
                select(SubscriberProfile, Resident, Invitation)
                .join(Resident, Resident.id == SubscriberProfile.resident_id)
                .outerjoin(Invitation, Invitation.id == SubscriberProfile.invitation_id)
                .order_by(SubscriberProfile.updated_at.desc())
                .limit(500)
            )
        ).all()
        reach = await invitation_reach(session, [i.id for i in rows])
    shown = []
    for invitation in rows:
        found = invitations.links(settings, invitation.code)
        shown.append(
            {
                "invitation": invitation,
                "reach": reach[invitation.id],
                "links": [
                    (name, link, invitations.qr_svg_data_uri(link))
                    for name, link in (("Telegram", found.telegram), ("WhatsApp", found.whatsapp))
                    if link
                ],
            }
        )
    return panel.render(
        request,
        "invitations.html",
        status_code=status_code,
        errors=errors or [],
        invitations=shown,
        people=people,
        roles=roles(settings),
        areas=areas(settings),
        role_label=role_label,
        no_links=not (settings.telegram_bot_username or settings.whatsapp_number),
        LANGUAGES=languages(),
    )


@requires("viewer")
async def page(panel: Panel, request: Request) -> Response:
    return await render_page(panel, request)


def _areas_from(form_areas: list[str], free_text: str) -> list[str]:
    return [*form_areas, *free_text.split(",")]


@requires("moderator")
async def create(panel: Panel, request: Request) -> Response:
    form = await request.form()
    chosen_areas = [v for v in form.getlist("areas") if isinstance(v, str)]
    chosen_languages = [v for v in form.getlist("languages") if isinstance(v, str)]
    try:
        async with panel.services.db.session() as session:
            invitation = await invitations.create(
                session,
                panel.services.settings,
                request.state.staff.username,
                form_str(form, "label", 200),
                form_str(form, "role", 40),
                _areas_from(chosen_areas, form_str(form, "areas_text", 1000)),
                chosen_languages,
            )
            label = invitation.label
    except RoleError as exc:
        return await render_page(panel, request, 400, [str(exc)])
    return panel.redirect(request, "/invitations", f"Invitation for {label} created.")


@requires("moderator")
async def revoke(panel: Panel, request: Request) -> Response:
    invitation_id = int_param(request.path_params["invitation_id"])
    async with panel.services.db.session() as session:
        done = await invitations.revoke(session, request.state.staff.username, invitation_id)
    flash = "Invitation revoked: its links no longer work." if done else "Already revoked."
    return panel.redirect(request, "/invitations", flash)


@requires("moderator")
async def change_role(panel: Panel, request: Request) -> Response:
    form = await request.form()
    resident_id = int_param(request.path_params["resident_id"])
    chosen_areas = [v for v in form.getlist("areas") if isinstance(v, str)]
    try:
        async with panel.services.db.session() as session:
            profile = await invitations.change_role(
                session,
                panel.services.settings,
                request.state.staff.username,
                resident_id,
                form_str(form, "role", 40),
                _areas_from(chosen_areas, form_str(form, "areas_text", 1000)),
            )
    except RoleError as exc:
        return await render_page(panel, request, 400, [str(exc)])
    if profile is None:
        return panel.render(request, "error.html", status_code=404, message="No such person.")
    return panel.redirect(request, "/invitations", "Role changed.")


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/invitations", partial(page, panel), methods=["GET"]),
        Route("/invitations", partial(create, panel), methods=["POST"]),
        Route("/invitations/{invitation_id:int}/revoke", partial(revoke, panel), methods=["POST"]),
        Route("/roles/{resident_id:int}", partial(change_role, panel), methods=["POST"]),
    ]
