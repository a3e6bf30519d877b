"""Plumbing shared by every panel view: templates, the logged-in staff member, CSRF, headers."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.auth import Sessions, Staff
from admin.deps import PanelServices
from admin.plurals import plural
from bot.texts.catalogue import TOPICS, languages, text
from domain.http import HEADERS
from domain.models import ClusterStatus, OutboxStatus, Verdict

HERE = Path(__file__).parent
COOKIE = "rumourbot_admin"
LOGIN_CSRF_COOKIE = "rumourbot_admin_login"
Handler = Callable[[Request], Awaitable[Response]]

# The service's headers, and two more: no window.opener across origins, and no page cached
# (they show residents' messages).
SECURITY_HEADERS = [
    *HEADERS,
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
STATUS_LABELS = {
    ClusterStatus.NEW: "New",
    ClusterStatus.IN_REVIEW: "In review",
    ClusterStatus.ANSWERED: "Answered",
    ClusterStatus.NOT_A_CLAIM: "Not a claim",
    ClusterStatus.SPAM: "Spam",
    ClusterStatus.OUT_OF_SCOPE: "Out of scope",
    ClusterStatus.MERGED: "Merged",
}
VERDICT_LABELS = {
    Verdict.FALSE: "False",
    Verdict.MISLEADING: "Misleading",
    Verdict.MISSING_CONTEXT: "Missing context",
    Verdict.TRUE: "True",
    Verdict.UNVERIFIED: "Unverified / being checked",
}
OUTBOX_LABELS: dict[str, str] = {
    OutboxStatus.PENDING: "Waiting to be sent",
    OutboxStatus.SENDING: "Being sent now",
    OutboxStatus.SENT: "Sent",
    OutboxStatus.DEAD: "Could not be delivered",
    OutboxStatus.IN_DOUBT: "Probably arrived (not sure)",
    OutboxStatus.DISCARDED: "Discarded by staff",
}


def masked(chat_id: str | None) -> str:
    """A chat id with all but its last few characters hidden (never more than half of it)."""
    value = chat_id or ""
    shown = min(4, len(value) // 2)
    return "•••" + value[len(value) - shown :] if shown else "•••"


def city_zone(name: str) -> ZoneInfo:
    """The configured time zone; UTC (logged) when the name is not a known IANA zone."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        logging.getLogger(__name__).warning("unknown RUMOURBOT_TIME_ZONE %r; using UTC", name)
        return ZoneInfo("UTC")


class Panel:
    """What every view needs: services, sessions and the template environment."""

    def __init__(self, services: PanelServices) -> None:
        self.services = services
        self.sessions: Sessions | None = None
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.env.filters["masked"] = masked
        self.env.filters["plural"] = plural
        self.zone = city_zone(services.settings.time_zone)
        self.env.filters["local"] = self.local_time
        self.env.globals.update(
            STATUS_LABELS=STATUS_LABELS,
            VERDICT_LABELS=VERDICT_LABELS,
            OUTBOX_LABELS=OUTBOX_LABELS,
            TOPICS=TOPICS,
            TIME_ZONE=self.zone.key,
            LANGUAGES=languages(),
            LANGUAGE_NAMES={code: text("language_name", code) for code in languages()},
        )

    def local_time(self, value: datetime) -> str:
        """A time in the city's zone, labelled (e.g. "01 Dec 14:05 EAT")."""
        local = value.astimezone(self.zone)
        return f"{local.strftime('%d %b %H:%M')} {local.tzname() or self.zone.key}"

    @property
    def secure_cookies(self) -> bool:
        return self.services.settings.public_url.startswith("https://")

    def render(
        self, request: Request, template: str, /, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        staff: Staff | None = getattr(request.state, "staff", None)
        html = self.env.get_template(template).render(
            request=request,
            base=request.scope.get("root_path", ""),
            staff=staff,
            csrf=staff.csrf_token if staff else "",
            flash=self.flash_text(request),
            **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def redirect(self, request: Request, path: str, flash: str = "") -> RedirectResponse:
        url = request.scope.get("root_path", "") + path
        if flash:
            from urllib.parse import quote

            signature = self._flash_signature(flash)
            url += ("&" if "?" in url else "?") + f"flash={quote(flash)}&flash_sig={signature}"
        return RedirectResponse(url, status_code=303)

    def flash_text(self, request: Request) -> str:
        """The notice a redirect of ours carries; shown only with our signature, so a crafted
        `?flash=` link cannot put words on the panel's pages (the login page included)."""
        text = request.query_params.get("flash", "")
        given = request.query_params.get("flash_sig", "").encode("utf-8", "replace")
        if not text or not hmac.compare_digest(given, self._flash_signature(text).encode()):
            return ""
        return text

    def _flash_signature(self, text: str) -> str:
        key = self.sessions.signer.secret_keys[-1] if self.sessions is not None else b""
        digest = hmac.new(key + b"rumourbot-flash", text.encode("utf-8", "replace"), "sha256")
        return digest.hexdigest()[:32]

    def login_csrf(self) -> str:
        return secrets.token_urlsafe(24)


def csrf_ok(expected: str, form: FormData) -> bool:
    supplied = form.get("csrf_token")
    return (
        isinstance(supplied, str)
        and bool(expected)
        and hmac.compare_digest(supplied.encode(), expected.encode())  # bytes: any input is safe
    )


def requires(
    role: str,
) -> Callable[
    [Callable[[Panel, Request], Awaitable[Response]]],
    Callable[[Panel, Request], Awaitable[Response]],
]:
    """Log-in and role check for a view; unsafe methods also need the session's CSRF token."""

    def decorate(
        view: Callable[[Panel, Request], Awaitable[Response]],
    ) -> Callable[[Panel, Request], Awaitable[Response]]:
        @functools.wraps(view)
        async def wrapper(panel: Panel, request: Request) -> Response:
            assert panel.sessions is not None
            staff = await panel.sessions.staff_for(request.cookies.get(COOKIE))
            if staff is None:
                if request.method == "GET":
                    return panel.redirect(request, "/login?next=" + request.url.path)
                return HTMLResponse("Your session has ended. Please log in again.", status_code=401)
            request.state.staff = staff
            if request.method == "POST" and not csrf_ok(staff.csrf_token, await request.form()):
                return panel.render(
                    request,
                    "error.html",
                    status_code=403,
                    message="This form has expired or was not sent by the panel. "
                    "Reload the page and try again.",
                )
            if not staff.can(role):
                return panel.render(
                    request,
                    "error.html",
                    status_code=403,
                    message="Your role does not allow this action.",
                )
            return await view(panel, request)

        return wrapper

    return decorate


def form_str(form: FormData, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def int_param(value: Any, default: int = 0) -> int:
    """An integer from a form or query, or `default` (also past PostgreSQL's `integer`)."""
    try:
        number = int(str(value)[:20])
    except (TypeError, ValueError):
        return default
    return number if abs(number) < 2**31 else default
