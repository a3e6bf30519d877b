"""The delivery page (dead and in-doubt messages) and the blocked-residents page."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, OutboxKind, OutboxMessage, OutboxStatus, Resident, utcnow
from domain.outbox import IN_DOUBT_NOTE
from domain.residents import resident_for
from tests.admin.conftest import ask, csrf_of, undelivered

LONG = "Boil water before drinking: the <b>north</b> reservoir is being cleaned. " * 4


def count_on(page: str, status: str) -> int:
    """The number shown at the top of the delivery page for `status`."""
    match = re.search(rf'data-status="{status}"><span class="kpi-value">(\d+)<', page)
    assert match, f"no count for {status}"
    return int(match.group(1))


async def status_of(runtime: Runtime, outbox_id: int) -> str:
    async with runtime.services.db.session() as session:
        row = await session.get(OutboxMessage, outbox_id)
        assert row is not None
        return row.status


async def audit_events(runtime: Runtime, name: str) -> list[AuditEvent]:
    async with runtime.services.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.name == name)
        return list((await session.scalars(query)).all())


# -- delivery --------------------------------------------------------------------------------
async def test_dead_and_in_doubt_messages_are_listed(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    await undelivered(runtime, "resident-4821", LONG, kind=OutboxKind.BROADCAST)
    await undelivered(
        runtime,
        "resident-7730",
        "Clinics open at 8.",
        OutboxStatus.IN_DOUBT,
        IN_DOUBT_NOTE,
        attempts=1,
    )
    await undelivered(runtime, "resident-1000", "Old news.", OutboxStatus.DISCARDED)
    page = await viewer.get("/admin/delivery")
    assert page.status_code == 200
    text = page.text
    assert ">Delivery</a>" in text and ">Blocked</a>" in text  # in the navigation
    assert "•••4821" in text and "•••7730" in text
    assert "resident-4821" not in text and "resident-7730" not in text
    assert "Forbidden: bot was blocked by the user" in text and IN_DOUBT_NOTE in text
    assert "Could not be delivered" in text and "Probably arrived (not sure)" in text
    assert "Verified update" in text and "Reply" in text
    assert "Boil water before drinking: the &lt;b&gt;north&lt;/b&gt;" in text  # escaped
    assert "<b>north</b>" not in text and text.count("reservoir is being cleaned") == 1  # cut
    assert "Old news." not in text  # discarded: no decision needed
    counts = {s: count_on(text, s) for s in ("pending", "sent", "dead", "in_doubt", "discarded")}
    assert counts == {"pending": 0, "sent": 0, "dead": 1, "in_doubt": 1, "discarded": 1}
    assert "Send again" not in text  # a viewer has no buttons


async def test_send_again_delivers_the_message(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    outbox_id = await undelivered(runtime, "dead-1234", "The bridge is open again.")
    page = await moderator.get("/admin/delivery")
    assert "•••1234" in page.text and "Send again" in page.text
    response = await moderator.post(
        f"/admin/delivery/{outbox_id}/send-again", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/delivery?flash=")
    delivered = await runtime.webchat_outbox.wait_for("dead-1234", 1)
    assert [m.text for m in delivered] == ["The bridge is open again."]
    after = await moderator.get(response.headers["location"])
    assert f"Message #{outbox_id} will be sent again." in after.text
    assert "•••1234" not in after.text
    [event] = await audit_events(runtime, "send_again")
    assert event.actor == "moderator" and event.target == f"outbox:{outbox_id}"
    assert event.before == {"status": "dead"} and event.after == {"status": "pending"}


async def test_discard_takes_the_message_off_the_list(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    outbox_id = await undelivered(
        runtime, "doubt-5678", "Water is safe.", OutboxStatus.IN_DOUBT, IN_DOUBT_NOTE, attempts=1
    )
    page = await moderator.get("/admin/delivery")
    assert "•••5678" in page.text and count_on(page.text, "in_doubt") == 1
    response = await moderator.post(
        f"/admin/delivery/{outbox_id}/discard", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303
    after = await moderator.get(response.headers["location"])
    assert f"Message #{outbox_id} discarded." in after.text
    assert "•••5678" not in after.text and "Nothing needs a decision" in after.text
    assert count_on(after.text, "in_doubt") == 0 and count_on(after.text, "discarded") == 1
    assert await status_of(runtime, outbox_id) == OutboxStatus.DISCARDED
    [event] = await audit_events(runtime, "discard")
    assert event.target == f"outbox:{outbox_id}" and event.after == {"status": "discarded"}
    assert runtime.webchat_outbox.sent["doubt-5678"] == []


async def test_viewer_cannot_send_again_or_discard(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    outbox_id = await undelivered(runtime, "dead-2222", "Market closed today.")
    csrf = csrf_of((await viewer.get("/admin/delivery")).text)  # the log-out form's token
    for action in ("send-again", "discard"):
        response = await viewer.post(
            f"/admin/delivery/{outbox_id}/{action}", data={"csrf_token": csrf}
        )
        assert response.status_code == 403 and "Your role does not allow" in response.text
    assert await status_of(runtime, outbox_id) == OutboxStatus.DEAD
    assert await audit_events(runtime, "send_again") == []


async def test_missing_or_forged_csrf_token_is_refused(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    outbox_id = await undelivered(runtime, "dead-3333", "Roads reopened.")
    for data in ({}, {"csrf_token": "forged"}):
        response = await moderator.post(f"/admin/delivery/{outbox_id}/send-again", data=data)
        assert response.status_code == 403 and "This form has expired" in response.text
    assert await status_of(runtime, outbox_id) == OutboxStatus.DEAD
    assert runtime.webchat_outbox.sent["dead-3333"] == []


async def test_unknown_or_settled_messages_get_a_polite_page(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    csrf = csrf_of((await moderator.get("/admin/delivery")).text)
    missing = await moderator.post("/admin/delivery/9999/send-again", data={"csrf_token": csrf})
    assert missing.status_code == 404 and "No such message." in missing.text
    sent = await undelivered(runtime, "sent-4444", "Already there.", OutboxStatus.SENT, None)
    for action in ("send-again", "discard"):
        response = await moderator.post(
            f"/admin/delivery/{sent}/{action}", data={"csrf_token": csrf}
        )
        assert response.status_code == 400
        assert f"Message #{sent} no longer needs a decision (sent)." in response.text
    dead = await undelivered(runtime, "dead-5555", "Shelter open.")
    assert (
        await moderator.post(f"/admin/delivery/{dead}/discard", data={"csrf_token": csrf})
    ).status_code == 303
    again = await moderator.post(f"/admin/delivery/{dead}/send-again", data={"csrf_token": csrf})
    assert again.status_code == 400 and "discarded by staff" in again.text
    assert len(await audit_events(runtime, "discard")) == 1
    assert await audit_events(runtime, "send_again") == []
    assert runtime.webchat_outbox.sent["dead-5555"] == []


# -- blocked residents -----------------------------------------------------------------------
async def block(runtime: Runtime, chat: str, reason: str = "too many messages in an hour") -> int:
    async with runtime.services.db.session() as session:
        resident = await resident_for(session, "webchat", chat)
        resident.blocked, resident.blocked_reason = True, reason
        resident.blocked_at = utcnow() - timedelta(minutes=30)
        resident_id = resident.id
    for _ in range(runtime.services.flood.block_after + 1):  # this hour's count, as a flood
        await runtime.services.flood.hit("webchat", chat)
    return resident_id


async def test_blocked_residents_are_listed_and_a_block_is_lifted(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    resident_id = await block(runtime, "flood-5566")
    async with runtime.services.db.session() as session:
        await resident_for(session, "webchat", "calm-9090")  # not blocked: not listed
    page = await moderator.get("/admin/blocked")
    assert page.status_code == 200
    assert "•••5566" in page.text and "flood-5566" not in page.text
    assert "too many messages in an hour" in page.text and "•••9090" not in page.text
    response = await moderator.post(
        f"/admin/blocked/{resident_id}/lift", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303
    after = await moderator.get(response.headers["location"])
    assert "Block lifted" in after.text
    assert "•••5566" not in after.text and "Nobody is blocked." in after.text
    async with runtime.services.db.session() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        assert not resident.blocked and resident.blocked_at is None
    [event] = await audit_events(runtime, "unblock")
    assert event.actor == "moderator" and event.target == f"resident:{resident_id}"
    assert event.before is not None
    assert event.before["blocked_reason"] == "too many messages in an hour"
    assert event.after == {"blocked": False}
    await ask(runtime, "flood-5566", "Lions escaped from the park and are in the market")
    assert runtime.webchat_outbox.sent["flood-5566"]  # answered again within the same hour


async def test_lifting_is_for_moderators_with_a_valid_form(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    resident_id = await block(runtime, "flood-7788")
    page = await viewer.get("/admin/blocked")
    assert "•••7788" in page.text and "Lift block" not in page.text
    refused = await viewer.post(
        f"/admin/blocked/{resident_id}/lift", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403 and "Your role does not allow" in refused.text
    forged = await viewer.post(f"/admin/blocked/{resident_id}/lift", data={"csrf_token": "x"})
    assert forged.status_code == 403 and "This form has expired" in forged.text
    async with runtime.services.db.session() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None and resident.blocked
    assert await audit_events(runtime, "unblock") == []


async def test_unknown_or_unblocked_resident_gets_a_polite_page(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    csrf = csrf_of((await moderator.get("/admin/blocked")).text)
    missing = await moderator.post("/admin/blocked/9999/lift", data={"csrf_token": csrf})
    assert missing.status_code == 404 and "No such resident." in missing.text
    async with runtime.services.db.session() as session:
        calm = (await resident_for(session, "webchat", "calm-1212")).id
    response = await moderator.post(f"/admin/blocked/{calm}/lift", data={"csrf_token": csrf})
    assert response.status_code == 400 and "This resident is not blocked." in response.text
    assert await audit_events(runtime, "unblock") == []
