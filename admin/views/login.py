"""Log in and out."""

from __future__ import annotations

import hmac
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.auth import AuthError
from admin.panel import COOKIE, LOGIN_CSRF_COOKIE, Panel, form_str, requires


def _safe_next(value: str) -> str:
    """Only local panel paths: never an open redirect."""
    return (
        value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""
    )


async def login_page(
    panel: Panel, request: Request, error: str = "", status_code: int = 200
) -> Response:
    token = panel.login_csrf()
    response = panel.render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        error=error,
        next=_safe_next(request.query_params.get("next", "")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=panel.secure_cookies,
        path=request.scope.get("root_path", "") or "/",
    )
    return response


async def login_submit(panel: Panel, request: Request) -> Response:
    assert panel.sessions is not None
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    supplied = form_str(form, "csrf_token", 200)
    if not expected or not hmac.compare_digest(expected.encode(), supplied.encode()):
        return await login_page(panel, request, "The form expired. Please try again.", 403)
    username = form_str(form, "username", 100)
    try:
        cookie, user = await panel.sessions.login(username, form_str(form, "password", 1000))
    except AuthError as exc:
        async with panel.services.db.session() as session:
            await audit.record(
                session, "login_failed", username.lower() or "?", f"user:{username.lower()}"
            )
        return await login_page(panel, request, str(exc), 401)
    async with panel.services.db.session() as session:
        await audit.record(session, "login", user.username, f"user:{user.username}")
    target = _safe_next(form_str(form, "next", 500))
    root = request.scope.get("root_path", "")
    response = panel.redirect(request, "/")
    if target.startswith(root + "/"):
        response.headers["location"] = target
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=panel.secure_cookies,
        max_age=int(panel.services.settings.admin_session_hours * 3600),
        path=root or "/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=root or "/")
    return response


@requires("viewer")
async def logout(panel: Panel, request: Request) -> Response:
    assert panel.sessions is not None
    staff = request.state.staff
    await panel.sessions.logout(staff.session_id)
    await audit.record_alone(panel.services.db, "logout", staff.username, f"user:{staff.username}")
    response = panel.redirect(request, "/login")
    response.delete_cookie(COOKIE, path=request.scope.get("root_path", "") or "/")
    return response


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/login", partial(login_page, panel), methods=["GET"], name="login"),
        Route("/login", partial(login_submit, panel), methods=["POST"]),
        Route("/logout", partial(logout, panel), methods=["POST"], name="logout"),
    ]
