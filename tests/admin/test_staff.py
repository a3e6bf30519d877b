"""Users (admins only), the settings page, the audit page, and the documented settings."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from admin.panel import SECURITY_HEADERS
from bot.runtime.app import Runtime
from domain.models import AdminUser, AuditEvent
from domain.settings import Settings
from tests.admin.conftest import PASSWORD, csrf_of, login
from tests.conftest import REPO


async def test_admin_adds_and_changes_users(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    csrf = csrf_of((await admin.get("/admin/users")).text)
    new = {
        "csrf_token": csrf,
        "username": "Baraka",
        "display_name": "Baraka O.",
        "role": "moderator",
        "password": "a very long password",
    }
    assert (await admin.post("/admin/users", data=new)).status_code == 303
    for change in (
        {"password": "short"},
        {"role": "root", "username": "x2"},
        {"username": "bad name!"},
        {},
    ):
        assert (await admin.post("/admin/users", data={**new, **change})).status_code == 400, change
    async with runtime.services.db.session() as session:
        user = (
            await session.scalars(select(AdminUser).where(AdminUser.username == "baraka"))
        ).one()
    response = await admin.post(
        f"/admin/users/{user.id}", data={"csrf_token": csrf, "role": "viewer", "active": "on"}
    )
    assert response.status_code == 303
    own = await admin.post(
        "/admin/users/1", data={"csrf_token": csrf, "role": "viewer", "active": "on"}
    )
    assert own.status_code == 400 and "your own admin role" in own.text
    assert (
        await admin.post("/admin/users/99", data={"csrf_token": csrf, "role": "viewer"})
    ).status_code == 400
    async with runtime.services.db.session() as session:
        events = {e.name: e for e in (await session.scalars(select(AuditEvent))).all()}
    assert events["user_add"].after == {"username": "baraka", "role": "moderator", "active": True}
    assert (
        events["user_change"].before["role"] == "moderator"
        and events["user_change"].after["role"] == "viewer"
    )


async def test_deactivated_user_is_logged_out(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    csrf = csrf_of((await admin.get("/admin/users")).text)
    await admin.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "mo", "role": "moderator", "password": PASSWORD},
    )
    transport = httpx.ASGITransport(app=admin._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await login(other, "mo")).status_code == 303
        await admin.post(
            "/admin/users/2", data={"csrf_token": csrf, "role": "moderator"}
        )  # inactive
        assert (await other.get("/admin/")).status_code == 303
        assert (await login(other, "mo")).status_code == 401


async def test_settings_page_hides_secrets(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    page = await admin.get("/admin/settings")
    assert page.status_code == 200 and "RUMOURBOT_ADMIN_SESSION_HOURS" in page.text


async def test_audit_page_lists_and_filters(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    page = await admin.get("/admin/audit")
    assert page.status_code == 200 and "login" in page.text
    assert "No events." in (await admin.get("/admin/audit?actor=nobody")).text
    assert "login" in (await admin.get("/admin/audit?name=login&target=user:admin&page=1")).text
    assert (await admin.get("/admin/audit?page=x")).status_code == 200


def test_every_panel_setting_is_documented() -> None:
    doc = (REPO / "docs" / "admin.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `?(RUMOURBOT_[A-Z0-9_]+)`? \|", doc, flags=re.M))
    panel = {
        f"RUMOURBOT_{name.upper()}" for name in Settings.model_fields if name.startswith("admin_")
    }
    assert panel and panel <= documented
    assert SECURITY_HEADERS
