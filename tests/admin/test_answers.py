"""The answer editor: preview, validation, publish to every asker, broadcast, corrections."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, Cluster, Resident
from tests.admin.conftest import ask, csrf_of, seed

LIONS = "Lions escaped from the national park and are walking in the market tonight"
GOOD = {
    "verdict": "false",
    "claim": LIONS,
    "explanation_en": "Park rangers confirm every lion is inside.",
    "explanation_sw": "Walinzi wa hifadhi wanathibitisha simba wote wako ndani.",
    "source_url": "https://example.org/parks/lions",
    "topic": "security",
}


async def editor(client: httpx.AsyncClient, cluster_id: int = 1) -> str:
    page = await client.get(f"/admin/clusters/{cluster_id}/answer")
    assert page.status_code == 200
    return csrf_of(page.text)


async def test_preview_shows_exactly_what_the_resident_gets(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await seed(runtime, LIONS, ["r1"])
    await seed(runtime, LIONS, ["r2"], language="sw")  # a second cluster, asked in Swahili
    csrf = await editor(moderator, 2)
    page = await moderator.post(
        "/admin/clusters/2/answer", data={**GOOD, "csrf_token": csrf, "action": "preview"}
    )
    assert page.status_code == 200
    assert "The city&#39;s team has answered a message you sent us." in page.text
    assert "FALSE: “Lions escaped" in page.text and "Walinzi wa hifadhi" in page.text
    assert "required: residents asked in this language" in page.text
    async with runtime.services.db.session() as session:
        assert (await session.get(Cluster, 2)).answer_id is None  # a preview publishes nothing


async def test_bad_input_is_refused_with_reasons(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await seed(runtime, LIONS, ["r1"], language="sw")
    csrf = await editor(moderator)
    cases = [
        ({"verdict": "maybe"}, "Choose a verdict."),
        ({"explanation_sw": ""}, "residents asked in it"),
        ({"source_url": "javascript:alert(1)"}, "must start with http"),
        ({"topic": "weather"}, "Choose a valid topic."),
        ({"claim": ""}, "The claim is empty."),
        ({"topic": "", "broadcast": "on"}, "Choose a topic to broadcast"),
    ]
    for change, message in cases:
        response = await moderator.post(
            "/admin/clusters/1/answer",
            data={**GOOD, **change, "csrf_token": csrf, "action": "publish"},
        )
        assert response.status_code == 400 and message in response.text, change
    assert (await moderator.get("/admin/clusters/77/answer")).status_code == 404
    assert (
        await moderator.post("/admin/clusters/77/answer", data={"csrf_token": csrf})
    ).status_code == 404


async def test_publish_reaches_every_asker_in_their_language_and_broadcasts(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await seed(runtime, LIONS, ["r1", "r2"])
    await seed(runtime, LIONS + " !", ["r3"], language="sw")
    async with (
        runtime.services.db.session() as session
    ):  # merge by hand: one cluster, two languages
        for resident in (await session.scalars(select(Resident))).all():
            if resident.chat_id == "r3":
                resident.topics = ["security"]
    csrf = await editor(moderator)
    await moderator.post("/admin/clusters/2/merge", data={"csrf_token": csrf, "target": "1"})
    response = await moderator.post(
        "/admin/clusters/1/answer",
        data={**GOOD, "csrf_token": csrf, "action": "publish", "broadcast": "on"},
    )
    assert response.status_code == 303, response.text
    assert "3 residents will be notified" in response.headers["location"].replace("%20", " ")
    for chat in ("r1", "r2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 1)
        assert (
            "Park rangers confirm" in sent[-1].text
            and "https://example.org/parks/lions" in sent[-1].text
        )
    swahili = await runtime.webchat_outbox.wait_for("r3", 2)
    assert any("Walinzi wa hifadhi" in m.text for m in swahili)
    assert any(m.template == "broadcast" for m in swahili)  # r3 subscribes to security
    # the next forward of the same rumour is answered automatically
    await ask(runtime, "r9", LIONS)
    assert (await runtime.webchat_outbox.wait_for("r9", 1))[-1].text.startswith("❌ FALSE")
    async with runtime.services.db.session() as session:
        event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "publish"))
        ).one()
    assert (
        event.actor == "moderator"
        and event.after["notified"] == 3
        and event.after["broadcast"] == 1
    )


async def test_correction_notifies_everyone_told_before(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await seed(runtime, LIONS, ["r1", "r2"])
    csrf = await editor(moderator)
    data = {**GOOD, "csrf_token": csrf, "action": "publish", "explanation_sw": ""}
    assert (await moderator.post("/admin/clusters/1/answer", data=data)).status_code == 303
    page = await moderator.get("/admin/clusters/1/answer")
    assert "Correct the published answer" in page.text and "Park rangers confirm" in page.text
    corrected = {
        **data,
        "verdict": "misleading",
        "explanation_en": "Two lions left the park; both are back.",
    }
    response = await moderator.post("/admin/clusters/1/answer", data=corrected)
    assert response.status_code == 303 and "Correction published" in response.headers[
        "location"
    ].replace("%20", " ")
    for chat in ("r1", "r2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 2)
        assert len(sent) == 2 and "Correction" in sent[-1].text and "both are back" in sent[-1].text
    async with runtime.services.db.session() as session:
        event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "correct"))
        ).one()
    assert event.before["verdict"] == "false" and event.after["verdict"] == "misleading"
