"""The queue, a cluster's page and its actions: status, assignment, notes, merge, split, answer."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from bot.runtime.app import Runtime
from domain.knowledge import ItemData, upsert_item
from domain.models import AuditEvent, Cluster, Request
from domain.residents import resident_for
from tests.admin.conftest import add_user, ask, csrf_of, login, seed
from tests.fakes.telegram_api import FakeTelegram

LIONS = "Lions escaped from the national park and are walking in the market tonight"
BANK = "Banks will close all accounts with less than 500 shillings on Friday"


async def token(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/admin/")).text)


async def audit_names(runtime: Runtime) -> list[str]:
    async with runtime.services.db.session() as session:
        return list((await session.scalars(select(AuditEvent.name).order_by(AuditEvent.id))).all())


async def clusters(runtime: Runtime) -> dict[int, Cluster]:
    async with runtime.services.db.session() as session:
        return {c.id: c for c in (await session.scalars(select(Cluster))).all()}


async def two_clusters(runtime: Runtime) -> None:
    """#1: one resident, two hours ago; #2: three residents now, plus one in Swahili."""
    await seed(runtime, BANK, ["a1"], minutes_ago=120)
    lions = await seed(runtime, LIONS, ["r1", "r2", "r3"])
    async with runtime.services.db.session() as session:
        resident = await resident_for(session, "webchat", "r4")
        session.add(
            Request(
                resident_id=resident.id,
                channel="webchat",
                language="sw",
                outcome="queue",
                text="Simba wametoroka kutoka hifadhi ya taifa",
                cluster_id=lions,
                media=[],
                candidates=[],
            )
        )
        (await session.get(Cluster, lions)).ask_count += 1


async def test_queue_ranks_by_askers_and_velocity_and_filters(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await two_clusters(runtime)
    page = (await moderator.get("/admin/")).text
    assert page.index(LIONS) < page.index(BANK)
    assert 'class="tag">sw<' in page and "webchat" in page
    by_language = (await moderator.get("/admin/?language=sw")).text
    assert LIONS in by_language and BANK not in by_language
    assert "Nothing waiting" in (await moderator.get("/admin/?status=answered")).text
    assert "Nothing waiting" in (await moderator.get("/admin/?topic=water")).text
    assert BANK in (await moderator.get("/admin/?assignee=-")).text
    assert (await moderator.get("/admin/?status=bogus&language=zz&topic=<x>")).status_code == 200


async def test_cluster_page_shows_messages_media_and_closest_items(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    async with runtime.services.db.session() as session:
        await upsert_item(
            session,
            ItemData(
                claim="Lions escaped from the national park",
                verdict="false",
                explanation="Rangers counted every lion.",
            ),
        )
    await runtime.services.knowledge.refresh()
    await seed(runtime, LIONS, ["r1"], media=[{"kind": "photo", "ref": "AgACAgQAAxk-file-id"}])
    page = (await moderator.get("/admin/clusters/1")).text
    assert "AgACAgQAAxk-file-id" in page and "photo" in page
    assert "Rangers counted every lion." in page and "Answer with this" in page
    assert (await moderator.get("/admin/clusters/999")).status_code == 404
    assert (await moderator.get("/admin/no-such-page")).status_code == 404


async def test_status_assignee_topic_are_audited(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await ask(runtime, "r1", LIONS)
    response = await moderator.post(
        "/admin/clusters/1/update",
        data={
            "csrf_token": await token(moderator),
            "status": "in_review",
            "assignee": "moderator",
            "topic": "security",
        },
    )
    assert response.status_code == 303
    cluster = (await clusters(runtime))[1]
    assert (cluster.status, cluster.assignee, cluster.topic) == (
        "in_review",
        "moderator",
        "security",
    )
    async with runtime.services.db.session() as session:
        events = {e.name: e for e in (await session.scalars(select(AuditEvent))).all()}
    assert events["status_change"].before == {"status": "new"}
    assert events["status_change"].after == {"status": "in_review"}
    assert (
        events["assign"].after == {"assignee": "moderator"}
        and events["assign"].actor == "moderator"
    )
    assert events["topic_change"].target == "cluster:1"
    assert "moderator" in (await moderator.get("/admin/?assignee=moderator")).text


async def test_bad_cluster_updates_are_refused(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await ask(runtime, "r1", LIONS)
    csrf = await token(moderator)
    for data in (
        {"status": "answered"},
        {"status": "nonsense"},
        {"topic": "weather"},
        {"assignee": "stranger"},
    ):
        assert (
            await moderator.post("/admin/clusters/1/update", data={**data, "csrf_token": csrf})
        ).status_code == 400
    assert (
        await moderator.post("/admin/clusters/9/update", data={"csrf_token": csrf})
    ).status_code == 404
    assert (
        await moderator.post("/admin/clusters/1/notes", data={"csrf_token": csrf, "body": "  "})
    ).status_code == 400


async def test_notes(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await ask(runtime, "r1", LIONS)
    response = await moderator.post(
        "/admin/clusters/1/notes",
        data={"csrf_token": await token(moderator), "body": "Called the park office <b>at 10</b>"},
    )
    assert response.status_code == 303
    page = (await moderator.get("/admin/clusters/1")).text
    assert "Called the park office &lt;b&gt;at 10&lt;/b&gt;" in page
    assert "note" in await audit_names(runtime)


async def test_merge_and_split(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await two_clusters(runtime)
    csrf = await token(moderator)
    assert (
        await moderator.post("/admin/clusters/1/merge", data={"csrf_token": csrf, "target": "1"})
    ).status_code == 400
    assert (
        await moderator.post("/admin/clusters/1/merge", data={"csrf_token": csrf, "target": "abc"})
    ).status_code == 400
    response = await moderator.post(
        "/admin/clusters/1/merge", data={"csrf_token": csrf, "target": "#2"}
    )
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/admin/clusters/2"
    )
    found = await clusters(runtime)
    assert found[2].ask_count == 5 and found[1].ask_count == 0 and found[1].status == "not_a_claim"
    async with runtime.services.db.session() as session:
        bank = (await session.scalars(select(Request).where(Request.text == BANK))).one()
    response = await moderator.post(
        "/admin/clusters/2/split", data={"csrf_token": csrf, "request_id": str(bank.id)}
    )
    assert response.status_code == 303
    found = await clusters(runtime)
    assert (
        found[2].ask_count == 4 and found[3].ask_count == 1 and found[3].representative_text == BANK
    )
    alone = await moderator.post(
        "/admin/clusters/3/split", data={"csrf_token": csrf, "request_id": str(bank.id)}
    )
    assert alone.status_code == 400
    assert (
        await moderator.post(
            "/admin/clusters/3/split", data={"csrf_token": csrf, "request_id": "x"}
        )
    ).status_code == 400
    assert {"merge", "split"} <= set(await audit_names(runtime))


async def test_answer_with_an_existing_item_notifies_every_asker_once(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    async with runtime.services.db.session() as session:
        item, _ = await upsert_item(
            session,
            ItemData(
                claim="Lions escaped from the national park",
                verdict="false",
                explanation="Rangers counted every lion.",
            ),
        )
    await seed(runtime, LIONS, ["r1", "r2"])
    await runtime.services.knowledge.refresh()
    csrf = await token(moderator)
    assert (
        await moderator.post("/admin/clusters/1/use", data={"csrf_token": csrf, "item_id": "999"})
    ).status_code == 400
    response = await moderator.post(
        "/admin/clusters/1/use", data={"csrf_token": csrf, "item_id": str(item.id)}
    )
    assert response.status_code == 303 and "2 residents" in response.headers["location"].replace(
        "%20", " "
    )
    for chat in ("r1", "r2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 2)
        assert "Rangers counted every lion." in sent[-1].text
    again = await moderator.post(
        "/admin/clusters/1/use", data={"csrf_token": csrf, "item_id": str(item.id)}
    )
    assert again.status_code == 400
    assert (await clusters(runtime))[1].status == "answered"
    assert "answer" in await audit_names(runtime)


async def test_a_photo_sent_on_telegram_is_shown_on_the_cluster_page(
    telegram_runtime: Runtime, fake: FakeTelegram
) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF-demo-bytes"
    update = fake.photo_update(
        8101,
        "Lions escaped from the national park, photo from the market",
        content=jpeg,
        forwarded=True,
    )
    fake.push_update(update)
    await fake.wait_for_messages(8101, 1, timeout=10)
    await add_user(telegram_runtime, "viewer", "viewer")
    transport = httpx.ASGITransport(app=Starlette(routes=telegram_runtime.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await login(client, "viewer")).status_code == 303
        page = await client.get("/admin/clusters/1")
        assert '<img class="thumb" src="/admin/media/1/0"' in page.text
        image = await client.get("/admin/media/1/0")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content == jpeg
        assert (await client.get("/admin/media/1/5")).status_code == 404
        assert (await client.get("/admin/media/99/0")).status_code == 404
