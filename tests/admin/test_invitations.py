"""Invitations: staff create a link, a person follows it on Telegram, staff change the role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.runtime.app import Runtime
from domain.models import AuditEvent, Invitation, Resident, SubscriberProfile
from tests.admin.conftest import add_user, csrf_of, login
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def telegram_panel(
    telegram_runtime: Runtime,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The Telegram runtime with a bot username and areas, and a logged-in moderator."""
    settings = telegram_runtime.services.settings
    telegram_runtime.services.settings = settings.model_copy(
        update={"telegram_bot_username": "CityFactsBot", "areas": "Kibera,Eastlands,Westlands"}
    )
    app = Starlette(routes=telegram_runtime.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        await add_user(telegram_runtime, "moderator", "moderator")
        assert (await login(http, "moderator")).status_code == 303
        yield telegram_runtime, http


async def create_invitation(http: httpx.AsyncClient, **fields: str | list[str]) -> httpx.Response:
    page = await http.get("/admin/invitations")
    data = {"csrf_token": csrf_of(page.text), **fields}
    return await http.post("/admin/invitations", data=data)


async def test_an_invitation_link_registers_the_role_and_area_on_telegram(
    telegram_panel: tuple[Runtime, httpx.AsyncClient], fake: FakeTelegram
) -> None:
    runtime, http = telegram_panel
    created = await create_invitation(
        http, label="Amina (Kibera youth)", role="influencer", areas=["Kibera"], languages=["sw"]
    )
    assert created.status_code == 303
    page = await http.get("/admin/invitations")
    link = re.search(r'value="(https://t\.me/CityFactsBot\?start=([A-Za-z0-9_-]+))"', page.text)
    assert link, "the page shows no Telegram deep link"
    assert 'src="data:image/svg+xml' in page.text  # its QR code
    code = link.group(2)

    fake.push_update(fake.message_update(8101, f"/start {code}"))
    sent = await fake.wait_for_messages(8101, 1, timeout=10)
    assert "mshawishi wa Kibera" in sent[-1]["text"]  # in Swahili, the invitation's language
    assert "/forget" in sent[-1]["text"]
    async with runtime.services.db.session() as session:
        resident = (await session.scalars(select(Resident).where(Resident.chat_id == "8101"))).one()
        profile = await session.get(SubscriberProfile, resident.id)
        invitation = (await session.scalars(select(Invitation))).one()
        assert profile is not None and profile.role == "influencer"
        assert profile.areas == ["Kibera"] and profile.consent_at is not None
        assert invitation.joined == 1 and resident.language == "sw"
        resident_id = resident.id

    # staff take the role back (audited, before and after)
    page = await http.get("/admin/invitations")
    assert "Influencer" in page.text and "Amina (Kibera youth)" in page.text
    changed = await http.post(
        f"/admin/roles/{resident_id}", data={"csrf_token": csrf_of(page.text), "role": "resident"}
    )
    assert changed.status_code == 303
    async with runtime.services.db.session() as session:
        profile = await session.get(SubscriberProfile, resident_id)
        assert profile is not None and profile.role == "resident"
        event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "role.revoke"))
        ).one()
        assert event.before == {"role": "influencer", "areas": ["Kibera"]}
        assert event.actor == "moderator"


async def test_a_revoked_or_unknown_code_registers_nothing(
    telegram_panel: tuple[Runtime, httpx.AsyncClient], fake: FakeTelegram
) -> None:
    runtime, http = telegram_panel
    await create_invitation(http, label="Eastlands leaders", role="community_leader")
    async with runtime.services.db.session() as session:
        invitation = (await session.scalars(select(Invitation))).one()
        code, invitation_id = invitation.code, invitation.id
    page = await http.get("/admin/invitations")
    revoked = await http.post(
        f"/admin/invitations/{invitation_id}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert revoked.status_code == 303
    for chat, text in ((8201, f"/start {code}"), (8202, "/start not-a-code-at-all")):
        fake.push_update(fake.message_update(chat, text))
        sent = await fake.wait_for_messages(chat, 2, timeout=10)
        assert "no longer valid" in sent[0]["text"]
        assert "Welcome" in sent[1]["text"] or "Hello" in sent[1]["text"]
    async with runtime.services.db.session() as session:
        assert (await session.scalars(select(SubscriberProfile))).all() == []
        names = set((await session.scalars(select(AuditEvent.name))).all())
    assert {"invitation.create", "invitation.revoke"} <= names


async def test_bad_invitations_are_refused_and_viewers_cannot_create(
    telegram_panel: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, http = telegram_panel
    bad_role = await create_invitation(http, label="X", role="mayor")
    assert bad_role.status_code == 400 and "configured roles" in bad_role.text
    bad_area = await create_invitation(http, label="X", role="influencer", areas=["Mars"])
    assert bad_area.status_code == 400 and "not one of the configured areas" in bad_area.text
    no_label = await create_invitation(http, label=" ", role="influencer")
    assert no_label.status_code == 400
    forged = await http.post("/admin/invitations", data={"label": "X", "role": "influencer"})
    assert forged.status_code == 403
    await add_user(runtime, "viewer", "viewer")
    await http.post(
        "/admin/logout", data={"csrf_token": csrf_of((await http.get("/admin/invitations")).text)}
    )
    assert (await login(http, "viewer")).status_code == 303
    refused = await create_invitation(http, label="Y", role="influencer")
    assert refused.status_code == 403
    async with runtime.services.db.session() as session:
        assert (await session.scalars(select(Invitation))).all() == []


def test_whatsapp_link_prefills_the_start_command_with_the_code() -> None:
    from bot.amplifiers.invitations import links, qr_svg_data_uri
    from domain.settings import Settings

    settings = Settings(_env_file=None, whatsapp_number="+254 700 123456")  # type: ignore[call-arg]
    found = links(settings, "jAbCdEf123")
    assert found.telegram is None
    assert found.whatsapp == "https://wa.me/254700123456?text=%2Fstart%20jAbCdEf123"
    assert qr_svg_data_uri(found.whatsapp).startswith("data:image/svg+xml")
