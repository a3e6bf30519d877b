"""Logging in and out, sessions, lockout, roles, CSRF, security headers, `createadmin`."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.routing import Mount
from typer.testing import CliRunner

from admin.auth import create_user, signing_key
from admin.web import build_app
from bot.runtime.app import Runtime
from bot.runtime.cli import app as cli
from bot.runtime.wiring import build_services, prepare
from domain.db import Database
from domain.models import AdminSession, AdminUser, AuditEvent, utcnow
from domain.settings import Settings, get_settings
from matching import Embedder
from tests.admin.conftest import PASSWORD, add_user, ask, csrf_of, login


async def events(runtime: Runtime, name: str) -> list[AuditEvent]:
    async with runtime.services.db.session() as session:
        return list(
            (await session.scalars(select(AuditEvent).where(AuditEvent.name == name))).all()
        )


async def test_pages_need_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=/admin/")
    assert (await client.post("/admin/clusters/1/notes", data={"body": "x"})).status_code == 401


async def test_login_sets_a_safe_cookie_and_logout_ends_the_session(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await add_user(runtime, "amina", "moderator")
    response = await login(client, "amina")
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("rumourbot_admin=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    page = await client.get("/admin/")
    assert page.status_code == 200 and "amina" in page.text
    await client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
    assert (await client.get("/admin/")).status_code == 303
    assert [e.actor for e in await events(runtime, "logout")] == ["amina"]


async def test_wrong_password_then_lockout(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await add_user(runtime, "amina", "moderator")
    for _ in range(runtime.settings.admin_max_failed_logins):
        response = await login(client, "amina", "wrong password!")
        assert response.status_code == 401 and "Wrong username or password" in response.text
    locked = await login(client, "amina")  # the right password, but locked
    assert locked.status_code == 401 and "Too many failed attempts" in locked.text
    async with runtime.services.db.session() as session:
        await session.execute(
            update(AdminUser).values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert (await login(client, "amina")).status_code == 303
    assert (
        len(await events(runtime, "login_failed")) == runtime.settings.admin_max_failed_logins + 1
    )


async def test_unknown_user_and_missing_login_csrf(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    assert (await login(client, "nobody")).status_code == 401
    forged = await client.post(
        "/admin/login", data={"username": "x", "password": PASSWORD, "csrf_token": "f"}
    )
    assert forged.status_code == 403


async def test_expired_and_revoked_sessions_are_refused(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    assert (await moderator.get("/admin/")).status_code == 200
    async with runtime.services.db.session() as session:
        await session.execute(
            update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await moderator.get("/admin/")).status_code == 303


async def test_a_tampered_cookie_is_refused(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    moderator.cookies.set("rumourbot_admin", "forged.value", path="/admin")
    assert (await moderator.get("/admin/")).status_code == 303


async def test_forged_or_missing_csrf_is_refused(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await ask(runtime, "r1", "Lions escaped from the national park and walk in the market")
    for data in ({"body": "hi", "csrf_token": "forged"}, {"body": "hi"}):
        response = await moderator.post("/admin/clusters/1/notes", data=data)
        assert response.status_code == 403 and "expired" in response.text
    assert await events(runtime, "note") == []


async def test_security_headers(moderator: httpx.AsyncClient) -> None:
    response = await moderator.get("/admin/")
    csp = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp
        and "frame-ancestors 'none'" in csp
    )
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text.replace("<script src=", "")  # no inline script
    static = await moderator.get("/admin/static/admin.js")
    assert static.status_code == 200 and static.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/admin/users", "/admin/settings"])
async def test_only_admins_manage_users_and_settings(
    moderator: httpx.AsyncClient, path: str
) -> None:
    assert (await moderator.get(path)).status_code == 403


async def test_no_open_redirect_after_login(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await add_user(runtime, "amina", "viewer")
    page = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={
            "username": "amina",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example",
        },
    )
    assert response.headers["location"] == "/admin/"
    response = await login(client, "amina")
    assert response.headers["location"] == "/admin/"


async def test_viewer_reads_but_cannot_act(runtime: Runtime, viewer: httpx.AsyncClient) -> None:
    await ask(runtime, "r1", "Lions escaped from the national park and walk in the market")
    page = await viewer.get("/admin/clusters/1")
    assert page.status_code == 200 and "Write an answer" not in page.text
    token = csrf_of((await viewer.get("/admin/")).text)
    for path, data in [
        ("/admin/clusters/1/update", {"status": "spam"}),
        ("/admin/clusters/1/notes", {"body": "x"}),
        (
            "/admin/clusters/1/answer",
            {"action": "publish", "verdict": "false", "claim": "x", "explanation_en": "y"},
        ),
    ]:
        response = await viewer.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path


def test_createadmin_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUMOURBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("ADMIN_PW", "a long enough password")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["createadmin", "Chief", "--password-env", "ADMIN_PW"])
        assert result.exit_code == 0, result.output
        assert "created admin chief" in result.output
        again = runner.invoke(cli, ["createadmin", "chief", "--password-env", "ADMIN_PW"])
        assert again.exit_code == 2 and "already exists" in again.output
        monkeypatch.setenv("SHORT_PW", "short")
        assert runner.invoke(cli, ["createadmin", "x", "--password-env", "SHORT_PW"]).exit_code == 2
        assert runner.invoke(cli, ["createadmin", "x", "--password-env", "UNSET_PW"]).exit_code == 2
        prompted = runner.invoke(
            cli, ["createadmin", "typed"], input="another long password\nanother long password\n"
        )
        assert prompted.exit_code == 0, prompted.output
        rule = prompted.output.index("at least 10 characters")
        assert rule < prompted.output.index("Password")  # the rule comes before the question
    finally:
        get_settings.cache_clear()


async def test_signing_key_is_configured_or_generated_once(
    database: Database, settings: Settings
) -> None:
    generated = await signing_key(database, settings)
    assert len(generated) > 40 and await signing_key(database, settings) == generated
    configured = settings.model_copy(update={"admin_secret_key": SecretStr("k" * 48)})
    assert await signing_key(database, configured) == "k" * 48


async def test_cookie_is_secure_behind_https(
    settings: Settings, database: Database, embedder: Embedder
) -> None:
    https = settings.model_copy(update={"public_url": "https://tipline.example.org"})
    services = build_services(https, db=database, embedder=embedder)
    await prepare(services)
    async with services.db.session() as session:
        await create_user(session, "amina", PASSWORD, "viewer")
    app = Starlette(routes=[Mount("/admin", app=build_app(services))])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://tipline.example.org"
    ) as c:
        response = await login(c, "amina")
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("rumourbot_admin=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie
