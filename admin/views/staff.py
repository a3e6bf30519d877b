"""Staff accounts and settings (admins), and the audit trail (everyone may read it)."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.auth import Sessions, check_role, create_user, hash_password
from admin.panel import Panel, form_str, int_param, requires
from domain.models import AdminUser

PAGE = 100


def user_state(user: AdminUser) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "active": user.active}


async def render_users(
    panel: Panel, request: Request, status_code: int = 200, error: str = ""
) -> Response:
    async with panel.services.db.session() as session:
        users = (await session.scalars(select(AdminUser).order_by(AdminUser.username))).all()
    return panel.render(request, "users.html", status_code=status_code, users=users, error=error)


@requires("admin")
async def users_page(panel: Panel, request: Request) -> Response:
    return await render_users(panel, request)


@requires("admin")
async def add_user(panel: Panel, request: Request) -> Response:
    form = await request.form()
    try:
        async with panel.services.db.session() as session:
            user = await create_user(
                session,
                form_str(form, "username", 100),
                form_str(form, "password", 1000),
                form_str(form, "role", 20),
                form_str(form, "display_name", 200),
            )
            await audit.record(
                session,
                "user_add",
                request.state.staff.username,
                f"user:{user.username}",
                None,
                user_state(user),
            )
    except ValueError as exc:
        return await render_users(panel, request, 400, str(exc))
    return panel.redirect(request, "/users", f"Added {user.username}.")


@requires("admin")
async def change_user(panel: Panel, request: Request) -> Response:
    """Role, active flag, or a new password; deactivating or a new password ends their sessions."""
    user_id = int_param(request.path_params["user_id"])
    form = await request.form()
    staff = request.state.staff
    try:
        async with panel.services.db.session() as session:
            user = await session.get(AdminUser, user_id)
            if user is None:
                raise ValueError("No such user.")
            before = user_state(user)
            role, active = check_role(form_str(form, "role", 20)), form.get("active") == "on"
            if user.id == staff.id and (role != "admin" or not active):
                raise ValueError("You cannot remove your own admin role or deactivate yourself.")
            user.role, user.active = role, active
            password = form_str(form, "password", 1000)
            if password:
                user.password_hash = hash_password(password)
                user.failed_logins, user.locked_until = 0, None
            if password or not active or role != before["role"]:
                await Sessions.revoke_all(session, user.id)
            after = {**user_state(user), "password_changed": bool(password)}
            await audit.record(
                session, "user_change", staff.username, f"user:{user.username}", before, after
            )
    except ValueError as exc:
        return await render_users(panel, request, 400, str(exc))
    return panel.redirect(request, "/users", f"Saved {user.username}.")


def settings_rows(panel: Panel) -> list[tuple[str, str]]:
    rows = []
    for name, value in panel.services.settings.model_dump().items():
        shown = (
            "•••• (set)" if isinstance(value, SecretStr) else ("" if value is None else str(value))
        )
        if "url" in name and "@" in shown:  # database credentials
            shown = shown.split("://")[0] + "://••••@" + shown.rsplit("@", 1)[1]
        rows.append((f"RUMOURBOT_{name.upper()}", shown))
    return rows


@requires("admin")
async def settings_page(panel: Panel, request: Request) -> Response:
    return panel.render(request, "settings.html", rows=settings_rows(panel))


@requires("viewer")
async def audit_page(panel: Panel, request: Request) -> Response:
    params = request.query_params
    actor, name, target = (
        params.get("actor", "")[:100],
        params.get("name", "")[:50],
        params.get("target", "")[:100],
    )
    page = max(int_param(params.get("page"), 1), 1)
    async with panel.services.db.session() as session:
        rows = await audit.events(session, actor, name, target, PAGE + 1, (page - 1) * PAGE)
    return panel.render(
        request,
        "audit.html",
        events=rows[:PAGE],
        more=len(rows) > PAGE,
        page=page,
        actor=actor,
        name=name,
        target=target,
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/users", partial(users_page, panel), methods=["GET"]),
        Route("/users", partial(add_user, panel), methods=["POST"]),
        Route("/users/{user_id:int}", partial(change_user, panel), methods=["POST"]),
        Route("/settings", partial(settings_page, panel), methods=["GET"]),
        Route("/audit", partial(audit_page, panel), methods=["GET"]),
    ]
