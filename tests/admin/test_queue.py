"""The queue, a cluster's page and its actions: status, assignment, notes, merge, split, answer."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from bot.runtime.app import Runtime
from domain.knowledge import ItemData, upsert_item
from domain.models import AuditEvent, Cluster, Request
from tests.admin.conftest import add_request, add_user, ask, csrf_of, login, seed
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
        await add_request(session, "webchat", "r4", language="sw", outcome="queue",
                          text="Simba wametoroka kutoka hifadhi ya taifa", cluster_id=lions)
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


def flash_of(response: httpx.Response) -> str:
    from urllib.parse import unquote

    return unquote(response.headers["location"])


async def test_merge_confirm_undo_and_split(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await two_clusters(runtime)
    csrf = await token(moderator)
    assert (
        await moderator.post("/admin/clusters/1/merge", data={"csrf_token": csrf, "source": "1"})
    ).status_code == 400
    assert (
        await moderator.post("/admin/clusters/2/merge", data={"csrf_token": csrf, "source": "abc"})
    ).status_code == 400
    confirm = (await moderator.get("/admin/clusters/2/merge?source=1")).text
    assert "1 message from 1 resident moves into #2" in confirm
    assert "Nobody is messaged now" in confirm and "undo" in confirm
    assert (await clusters(runtime))[1].status == "new"  # the confirmation page changes nothing
    response = await moderator.post(
        "/admin/clusters/2/merge", data={"csrf_token": csrf, "source": "#1"}
    )
    assert response.status_code == 303 and "/admin/clusters/2" in flash_of(response)
    found = await clusters(runtime)
    assert found[2].ask_count == 5 and found[1].ask_count == 0 and found[1].status == "merged"
    assert BANK not in (await moderator.get("/admin/")).text  # merged away: not in the queue
    page = (await moderator.get("/admin/clusters/2")).text
    assert "Merged #1 in (1 message)" in page
    async with runtime.services.db.session() as session:
        merge_event = (
            await session.scalars(select(AuditEvent).where(AuditEvent.name == "merge"))
        ).one()
    undo = await moderator.post(
        f"/admin/clusters/2/history/{merge_event.id}/undo", data={"csrf_token": csrf}
    )
    assert "1 message is back in #1" in flash_of(undo)
    found = await clusters(runtime)
    assert (found[1].status, found[1].ask_count, found[1].representative_text) == ("new", 1, BANK)
    assert found[2].ask_count == 4
    again = await moderator.post(
        f"/admin/clusters/2/history/{merge_event.id}/undo", data={"csrf_token": csrf}
    )
    assert again.status_code == 400 and "already undone" in again.text
    async with runtime.services.db.session() as session:
        swahili = (await session.scalars(select(Request).where(Request.language == "sw"))).one()
    response = await moderator.post(
        "/admin/clusters/2/split", data={"csrf_token": csrf, "request_id": str(swahili.id)}
    )
    assert response.status_code == 303
    found = await clusters(runtime)
    assert found[2].ask_count == 3 and found[3].ask_count == 1
    alone = await moderator.post(
        "/admin/clusters/3/split", data={"csrf_token": csrf, "request_id": str(swahili.id)}
    )
    assert alone.status_code == 400
    assert (
        await moderator.post(
            "/admin/clusters/3/split", data={"csrf_token": csrf, "request_id": "x"}
        )
    ).status_code == 400
    assert {"merge", "unmerge", "split"} <= set(await audit_names(runtime))


async def test_merging_into_an_answered_cluster_sends_its_answer_to_the_merged_askers(
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
    await runtime.services.knowledge.refresh()
    answered = await ask_and_cluster(runtime, ["r1"], LIONS)
    csrf = await token(moderator)
    await moderator.post(
        f"/admin/clusters/{answered}/use", data={"csrf_token": csrf, "item_id": str(item.id)}
    )
    late = await seed(runtime, "Simba wameonekana sokoni usiku huu", ["late1", "late2"], "sw")
    confirm = (await moderator.get(f"/admin/clusters/{answered}/merge?source={late}")).text
    assert "2 residents are sent that answer now" in confirm
    response = await moderator.post(
        f"/admin/clusters/{answered}/merge", data={"csrf_token": csrf, "source": str(late)}
    )
    assert "2 residents were sent the answer" in flash_of(response)
    for chat in ("late1", "late2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 1)
        assert "Rangers counted every lion." in sent[-1].text
    assert len(runtime.webchat_outbox.sent["r1"]) == 1  # the first asker is not told twice
    # split works on an answered cluster: the message goes back to the open queue
    async with runtime.services.db.session() as session:
        moved = (await session.scalars(select(Request).where(Request.cluster_id == answered))).all()
    response = await moderator.post(
        f"/admin/clusters/{answered}/split",
        data={"csrf_token": csrf, "request_id": str(moved[-1].id)},
    )
    assert response.status_code == 303
    assert "Simba wameonekana sokoni" in (await moderator.get("/admin/")).text


async def ask_and_cluster(runtime: Runtime, chats: list[str], text: str) -> int:
    return await seed(runtime, text, chats)


async def test_closing_as_spam_sends_each_resident_a_polite_reply_in_their_language(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    spam = await seed(runtime, "WIN A PHONE click here", ["s1", "s2"], "sw")
    csrf = await token(moderator)
    assert (
        await moderator.post(
            f"/admin/clusters/{spam}/close", data={"csrf_token": csrf, "reason": "deleted"}
        )
    ).status_code == 400
    response = await moderator.post(
        f"/admin/clusters/{spam}/close", data={"csrf_token": csrf, "reason": "spam"}
    )
    assert "Closed as spam. 2 residents get a polite closing reply." in flash_of(response)
    for chat in ("s1", "s2"):
        sent = await runtime.webchat_outbox.wait_for(chat, 1)
        assert sent[-1].text.startswith("Asante kwa kutuandikia.")
    again = await moderator.post(
        f"/admin/clusters/{spam}/close", data={"csrf_token": csrf, "reason": "spam"}
    )
    assert again.status_code == 400
    assert "WIN A PHONE" not in (await moderator.get("/admin/")).text
    assert "WIN A PHONE" in (await moderator.get("/admin/?status=closed")).text
    assert len(runtime.webchat_outbox.sent["s1"]) == 1


async def test_bulk_assign_and_close(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await two_clusters(runtime)
    csrf = await token(moderator)
    response = await moderator.post(
        "/admin/queue/bulk",
        data={
            "csrf_token": csrf,
            "cluster": ["1", "2"],
            "action": "assign",
            "assignee": "moderator",
        },
    )
    assert "2 clusters assigned to moderator." in flash_of(response)
    assert {c.assignee for c in (await clusters(runtime)).values()} == {"moderator"}
    response = await moderator.post(
        "/admin/queue/bulk",
        data={"csrf_token": csrf, "cluster": ["1"], "action": "close", "reason": "out_of_scope"},
    )
    assert "1 cluster closed; 1 resident gets a polite closing reply." in flash_of(response)
    assert (await clusters(runtime))[1].status == "out_of_scope"


async def test_priority_counts_residents_not_repeated_messages(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    flood = await seed(runtime, "The dam will burst tonight, leave now", ["one"] * 24)
    real = await seed(runtime, BANK, ["b1", "b2", "b3"], minutes_ago=30)
    page = (await moderator.get("/admin/")).text
    assert page.index(BANK) < page.index("The dam will burst")
    async with runtime.services.db.session() as session:
        from admin.clusters import QueueFilter, queue

        rows = {r.cluster.id: r for r in await queue(session, QueueFilter())}
    assert (rows[flood].askers, rows[flood].requests, rows[flood].last_hour) == (1, 24, 1)
    assert rows[flood].priority == 1 + 3 * 1 and rows[real].priority == 3 + 3 * 3
    assert "1 resident;" in page  # the priority's explanation, with the right plural


async def test_queue_search_in_any_language_sorts_and_pages(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    await seed(runtime, "Maji ya bomba yana sumu leo", ["w1"], "sw")
    await seed(runtime, "المياه في الصنبور مسمومة اليوم", ["w2"], "ar")
    await seed(runtime, "Tap water is poisoned today", ["w3", "w4"], "en", minutes_ago=90)
    assert "Maji ya bomba" in (found := (await moderator.get("/admin/?q=SUMU")).text)
    assert "Tap water" not in found
    arabic = (await moderator.get("/admin/", params={"q": "مسمومة"})).text
    assert "المياه في الصنبور" in arabic and "Maji" not in arabic
    assert "No cluster mentions “100%_”" in (await moderator.get("/admin/?q=100%25_")).text
    newest = (await moderator.get("/admin/?sort=newest")).text
    assert newest.index("Maji ya bomba") < newest.index("Tap water")
    by_priority = (await moderator.get("/admin/?sort=priority")).text  # asked in the last hour
    assert by_priority.index("Maji ya bomba") < by_priority.index("Tap water")
    by_residents = (await moderator.get("/admin/?sort=residents")).text
    assert by_residents.index("Tap water") < by_residents.index("Maji ya bomba")
    for n in range(51):
        await seed(runtime, f"Rumour number {n} about the market", [f"p{n}"])
    first = (await moderator.get("/admin/")).text
    assert "54 clusters · page 1 of 2" in first and "Next ›" in first
    second = (await moderator.get("/admin/?page=2")).text
    assert "page 2 of 2" in second and second.count('class="claim"') == 4


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
        sent = await runtime.webchat_outbox.wait_for(chat, 1)
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
