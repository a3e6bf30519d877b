"""The panel's login under attack: parallel guessing, timing, long and non-ASCII input,
spoofed notices."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from sqlalchemy import select

from admin.auth import AuthError, Sessions, signing_key
from bot.runtime.app import Runtime
from domain.models import AdminUser, AuditEvent
from tests.admin.conftest import PASSWORD, add_user, admin, client, csrf_of, login  # noqa: F401

WRONG = "Wrong username or password."
LOCKED = "Too many failed attempts. Try again later."


async def sessions_of(runtime: Runtime) -> Sessions:
    services = runtime.services
    return Sessions(
        services.db, services.settings, await signing_key(services.db, services.settings)
    )


async def attempt(sessions: Sessions, username: str, password: str) -> str:
    try:
        await sessions.login(username, password)
    except AuthError as exc:
        return str(exc)
    return "logged in"


async def test_thirty_parallel_guesses_are_locked_after_the_configured_count(
    runtime: Runtime,
) -> None:
    await add_user(runtime, "amina", "admin")
    sessions = await sessions_of(runtime)
    guesses = [attempt(sessions, "amina", f"wrong-password-{n}") for n in range(29)]
    outcomes = await asyncio.gather(*guesses, attempt(sessions, "amina", PASSWORD))
    limit = runtime.settings.admin_max_failed_logins
    assert outcomes.count(WRONG) == limit  # only that many passwords were checked at all
    assert outcomes.count(LOCKED) == 30 - limit and "logged in" not in outcomes
    assert await attempt(sessions, "amina", PASSWORD) == LOCKED  # the right one, afterwards
    async with runtime.services.db.session() as session:
        user = (await session.scalars(select(AdminUser))).one()
    assert user.locked_until is not None


async def test_locked_unknown_and_real_accounts_answer_in_the_same_time(runtime: Runtime) -> None:
    await add_user(runtime, "locked", "viewer")
    await add_user(runtime, "real", "viewer")
    sessions = await sessions_of(runtime)
    for n in range(runtime.settings.admin_max_failed_logins):
        await attempt(sessions, "locked", f"wrong-{n}")

    async def median_ms(username: str) -> float:
        times = []
        for n in range(3):
            start = time.perf_counter()
            await attempt(sessions, username, f"guess-{n}")
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    locked, unknown = await median_ms("locked"), await median_ms("nobody-here")
    assert await attempt(sessions, "locked", PASSWORD) == LOCKED
    assert max(locked, unknown) / min(locked, unknown) < 2.5, (locked, unknown)


async def test_a_very_long_username_is_refused_and_audited(
    runtime: Runtime,
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    response = await login(client, "u" * 500)
    assert response.status_code == 401 and WRONG in response.text
    async with runtime.services.db.session() as session:
        event = (await session.scalars(select(AuditEvent))).one()
    assert event.name == "login_failed" and len(event.target or "") == 100


async def test_non_ascii_csrf_tokens_are_refused_not_a_crash(
    runtime: Runtime,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,  # noqa: F811
) -> None:
    await client.get("/admin/login")
    response = await client.post(
        "/admin/login", data={"username": "x", "password": "y", "csrf_token": "jeton-é"}
    )
    assert response.status_code == 403 and "The form expired" in response.text
    response = await admin.post("/admin/logout", data={"csrf_token": "jeton-é"})
    assert response.status_code == 403 and "has expired" in response.text


async def test_a_crafted_flash_is_not_shown(
    admin: httpx.AsyncClient,  # noqa: F811
) -> None:
    spoof = await admin.get("/admin/login?flash=Your+account+is+suspended.+Call+0800")
    assert "suspended" not in spoof.text
    page = await admin.get("/admin/delivery?flash=Message+%23999+was+sent.&flash_sig=00")
    assert "Message #999" not in page.text
