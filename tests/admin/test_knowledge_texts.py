"""An item's translations and variants on its panel page, and search across translations."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, KnowledgeVariant, Request, VariantSource, VariantStatus
from domain.residents import resident_for
from domain.topics import Topics, use_topics
from tests.admin.conftest import ask, csrf_of
from tests.conftest import add_item

MEASLES = "The measles vaccine given at schools causes infertility in girls."
# a wording the engine only suggests for MEASLES in a small knowledge base
CHAIN = (
    "Warning to parents: the measles injection they give in class makes our daughters unable "
    "to have children, do not let them take it"
)
SW = "Chanjo ya surua inayotolewa shuleni husababisha utasa kwa wasichana."
AR = "لقاح الحصبة الذي يعطى في المدارس يسبب العقم لدى الفتيات."


async def add_measles(runtime: Runtime) -> int:
    return await add_item(runtime, MEASLES, "No study links the measles vaccine to infertility.",
                          "https://example.org/fc/measles", "m1")


async def events(runtime: Runtime, name: str) -> list[AuditEvent]:
    async with runtime.services.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.name == name).order_by(AuditEvent.id)
        return list((await session.scalars(query)).all())


async def outcome_of(runtime: Runtime, chat: str, text: str, language: str = "en") -> str:
    """What the bot decided for a resident's forward of `text` (answer, suggest or queue)."""
    await ask(runtime, chat, text, language)
    async with runtime.services.db.session() as session:
        query = select(Request.outcome).where(Request.text == text).order_by(Request.id.desc())
        return str((await session.scalars(query)).first())


async def test_translations_added_edited_removed_and_searched(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    item_id = await add_measles(runtime)
    page = await moderator.get(f"/admin/knowledge/{item_id}")
    assert "No translations yet" in page.text and "Add a language" in page.text
    csrf = csrf_of(page.text)
    url = f"/admin/knowledge/{item_id}/translations"
    for language, claim in (("sw", SW), ("ar", AR)):
        saved = await moderator.post(
            url, data={"language": language, "claim": claim, "csrf_token": csrf}
        )
        assert (
            saved.status_code == 303
            and "Translation saved" in (await moderator.get(saved.headers["location"])).text
        )
    # the Arabic translation, forwarded verbatim, is answered (the index followed the edit)
    assert await outcome_of(runtime, "ar1", AR, "ar") == "answer"

    # search in Swahili and in Arabic finds the item by its translation, and shows it
    for words in ("utasa kwa wasichana", "يسبب العقم"):
        found = (await moderator.get("/admin/knowledge", params={"q": words})).text
        assert f'/admin/knowledge/{item_id}"' in found and words in found, words
    assert "Nothing found" in (await moderator.get("/admin/knowledge?q=zzzz%25_")).text

    edited = await moderator.post(
        url,
        data={"language": "sw", "claim": SW, "explanation": "Hakuna utafiti.", "csrf_token": csrf},
    )
    assert edited.status_code == 303
    page = (await moderator.get(f"/admin/knowledge/{item_id}")).text
    assert "Hakuna utafiti." in page and AR in page
    removed = await moderator.post(url, data={"language": "ar", "remove": "1", "csrf_token": csrf})
    assert removed.status_code == 303
    page = (await moderator.get(f"/admin/knowledge/{item_id}")).text
    assert AR not in page and SW in page
    assert "Nothing found" in (await moderator.get("/admin/knowledge?q=يسبب العقم")).text

    changes = await events(runtime, "edit_translation")
    assert [e.after["language"] for e in changes] == ["sw", "ar", "sw"]
    assert (
        changes[-1].before["claim"] == SW and changes[-1].after["explanation"] == "Hakuna utafiti."
    )
    assert (await events(runtime, "remove_translation"))[0].before["claim"] == AR
    # refused: empty claim, the item's own language, an unknown language, a missing one
    for bad in (
        {"language": "hi", "claim": ""},
        {"language": "en", "claim": "x"},
        {"language": "xx", "claim": "x"},
        {"language": "hi", "remove": "1"},
    ):
        response = await moderator.post(url, data={**bad, "csrf_token": csrf})
        assert response.status_code == 303
        assert "saved" not in response.headers["location"], bad
    assert len(await events(runtime, "edit_translation")) == 3


async def test_variants_shown_added_and_removed_with_the_index_following(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    item_id = await add_measles(runtime)
    assert await outcome_of(runtime, "c0", CHAIN) != "answer"  # only suggested today
    async with runtime.services.db.session() as session:
        resident = await resident_for(session, "webchat", "picker")
        session.add(
            KnowledgeVariant(
                item_id=item_id,
                text="Parents say the school measles jab stops girls having babies later",
                text_key="0" * 16,
                language="en",
                source=VariantSource.RESIDENT,
                status=VariantStatus.PENDING,
                resident_id=resident.id,
            )
        )
    page = await moderator.get(f"/admin/knowledge/{item_id}")
    assert "stops girls having babies" in page.text and "one resident picked this item" in page.text
    csrf = csrf_of(page.text)

    added = await moderator.post(
        f"/admin/knowledge/{item_id}/variants",
        data={"text": CHAIN, "language": "en", "csrf_token": csrf},
    )
    assert "Variant%20added" in added.headers["location"]
    page = (await moderator.get(f"/admin/knowledge/{item_id}")).text
    assert "added or confirmed by staff" in page and "confirmed" in page
    assert await outcome_of(runtime, "c1", "Forwarded as received: " + CHAIN + " 😱") == "answer"
    # too short, or already known: refused, nothing recorded
    for text in ("is this true?", CHAIN):
        again = await moderator.post(
            f"/admin/knowledge/{item_id}/variants", data={"text": text, "csrf_token": csrf}
        )
        assert "Not%20added" in again.headers["location"]
    event = (await events(runtime, "add_variant"))[0]
    assert event.after["text"] == CHAIN and event.actor == "moderator"

    async with runtime.services.db.session() as session:
        query = select(KnowledgeVariant.id).where(KnowledgeVariant.text == CHAIN)
        variant_id = (await session.scalars(query)).one()
    removed = await moderator.post(
        f"/admin/knowledge/{item_id}/variants/{variant_id}/remove", data={"csrf_token": csrf}
    )
    assert "Variant%20removed" in removed.headers["location"]
    assert CHAIN not in (await moderator.get(f"/admin/knowledge/{item_id}")).text
    assert await outcome_of(runtime, "c2", CHAIN + "!!") != "answer"
    removal = (await events(runtime, "remove_variant"))[0]
    assert removal.before["status"] == "confirmed" and removal.after["status"] == "removed"
    # a variant of another item, an unknown action, a removed one again
    for path in (
        f"/admin/knowledge/{item_id + 1}/variants/{variant_id}/remove",
        f"/admin/knowledge/{item_id}/variants/{variant_id}/explode",
    ):
        assert (await moderator.post(path, data={"csrf_token": csrf})).status_code == 404
    again = await moderator.post(
        f"/admin/knowledge/{item_id}/variants/{variant_id}/remove", data={"csrf_token": csrf}
    )
    assert "Nothing%20to%20change" in again.headers["location"]


async def test_viewer_sees_texts_but_cannot_change_them(
    runtime: Runtime, viewer: httpx.AsyncClient
) -> None:
    item_id = await add_measles(runtime)
    page = await viewer.get(f"/admin/knowledge/{item_id}")
    assert "Variants" in page.text and "Add a variant" not in page.text
    assert "Add a language" not in page.text
    csrf = csrf_of(page.text)
    for path, data in (
        ("translations", {"language": "sw", "claim": SW}),
        ("variants", {"text": CHAIN}),
    ):
        response = await viewer.post(
            f"/admin/knowledge/{item_id}/{path}", data={**data, "csrf_token": csrf}
        )
        assert response.status_code == 403
    no_csrf = await viewer.post(f"/admin/knowledge/{item_id}/variants", data={"text": CHAIN})
    assert no_csrf.status_code == 403


async def test_the_topic_list_is_the_citys(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    use_topics(Topics(("water", "floods"), {"floods": {"en": "Floods", "sw": "Mafuriko"}}))
    try:
        item_id = await add_measles(runtime)
        page = (await moderator.get(f"/admin/knowledge/{item_id}")).text
        assert '<option value="floods" >Floods</option>' in page
        assert '<option value="health"' not in page
        form = {
            "claim": MEASLES,
            "verdict": "false",
            "language": "en",
            "topic": "floods",
            "csrf_token": csrf_of(page),
        }
        assert (await moderator.post(f"/admin/knowledge/{item_id}", data=form)).status_code == 303
        health = await moderator.post(
            f"/admin/knowledge/{item_id}", data={**form, "topic": "health"}
        )
        assert health.status_code == 400 and "Choose a valid topic." in health.text
    finally:
        use_topics(None)
