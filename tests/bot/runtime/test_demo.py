"""The demo is a choice: `run --demo` loads it, plain `run` starts empty with a first-run page,
and `demo remove` leaves no demo row behind while keeping everything real."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from bot.runtime.cli import app as cli
from bot.runtime.demo import DEMO_ORIGIN, load_demo, remove_demo
from bot.runtime.wiring import build_services, refresh_indexes
from domain.db import Database
from domain.knowledge import ItemData, upsert_item
from domain.messages import InboundMessage
from domain.models import (
    AdminUser,
    Answer,
    Cluster,
    KnowledgeItem,
    OutboxMessage,
    Request,
    Resident,
)
from domain.residents import resident_for
from domain.settings import Settings, get_settings
from matching import Embedder
from nlu import IntentParser

_ids = itertools.count(1)


def client(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=rt.asgi()), base_url="http://test")


async def chat(rt: Runtime, sender: str, text: str) -> None:
    before = len(rt.webchat_outbox.sent[sender])
    await rt.conversation.handle(
        InboundMessage("webchat", sender, f"demo{next(_ids)}", text, forwarded=True)
    )
    await rt.webchat_outbox.wait_for(sender, before + 1)


async def count(db: Database, model: object, *where: object) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(model)  # type: ignore[arg-type]
        return int(await session.scalar(query.where(*where)) or 0)


async def test_plain_run_starts_empty_with_a_first_run_page(runtime: Runtime) -> None:
    assert await count(runtime.services.db, KnowledgeItem) == 0
    async with client(runtime) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert "Create an account for the panel" in page.text
        assert "rumourbot createadmin" in page.text
        assert "Connect Telegram or WhatsApp" in page.text and "not connected yet" in page.text
        assert "the knowledge base is empty" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        async with runtime.services.db.session() as session:
            session.add(AdminUser(username="ana", password_hash="x", role="admin"))
        half = await http.get("/")
        assert 'id="step-admin"' in half.text and half.text.count(">done<") == 1
        async with runtime.services.db.session() as session:
            await upsert_item(session, ItemData(claim="Schools close on Friday", verdict="false"))
        done = await http.get("/", follow_redirects=False)
    assert done.status_code in (302, 307) and done.headers["location"] == "/chat"


async def test_run_with_demo_loads_it_and_goes_to_the_chat(
    settings: Settings, database: Database, embedder: Embedder, intent_parser: IntentParser
) -> None:
    demo = settings.model_copy(update={"demo_data": True})
    rt = Runtime(
        demo, services=build_services(demo, db=database, embedder=embedder, parser=intent_parser)
    )
    async with rt.running():
        assert await count(database, KnowledgeItem, KnowledgeItem.origin == DEMO_ORIGIN) == 30
        async with client(rt) as http:
            assert (await http.get("/", follow_redirects=False)).headers["location"] == "/chat"


async def test_demo_remove_leaves_no_demo_row_and_keeps_real_data(runtime: Runtime) -> None:
    db = runtime.services.db
    assert await load_demo(runtime.services) == 30
    async with db.session() as session:
        real, _ = await upsert_item(
            session,
            ItemData(claim="The bridge on River Road is closed for repairs", verdict="true"),
        )
        demo_item = await session.scalar(
            select(KnowledgeItem).where(KnowledgeItem.origin == DEMO_ORIGIN).limit(1)
        )
        assert demo_item is not None
        telegram = await resident_for(session, "telegram", "555")
        session.add_all(
            [
                Request(
                    resident_id=telegram.id,
                    channel="telegram",
                    text=demo_item.claim,
                    outcome="answer",
                    matched_item_id=demo_item.id,
                ),
                Request(
                    resident_id=telegram.id,
                    channel="telegram",
                    text=real.claim,
                    outcome="answer",
                    matched_item_id=real.id,
                ),
            ]
        )
    await runtime.services.knowledge.refresh()
    # Trying the demo in the web chat: a matched forward, and a new rumour answered by staff.
    await chat(runtime, "visitor", "The city will cut off all water supply for two weeks")
    rumour = "Lions escaped from the national park and are walking in the market tonight"
    await chat(runtime, "visitor", rumour)
    async with db.session() as session:
        cluster = await session.scalar(select(Cluster))
        assert cluster is not None
    draft = AnswerDraft(verdict="false", explanation="Park rangers confirm all lions are inside.")
    await publish_answer(runtime.services, cluster.id, draft)
    await runtime.conversation.wait_idle()

    async with db.session() as session:
        removed = await remove_demo(session)
    assert removed.items == 31 and removed.residents == 1 and removed.clusters >= 1

    assert await count(db, KnowledgeItem, KnowledgeItem.origin == DEMO_ORIGIN) == 0
    assert await count(db, KnowledgeItem, KnowledgeItem.origin == "staff") == 0
    assert await count(db, Resident, Resident.channel == "webchat") == 0
    assert await count(db, Request, Request.matched_item_id.is_(None)) == 0
    assert await count(db, Cluster) == 0 and await count(db, Answer) == 0
    assert await count(db, OutboxMessage, OutboxMessage.channel == "webchat") == 0
    async with db.session() as session:
        kept = (await session.scalars(select(Request))).all()
        assert [r.matched_item_id for r in kept] == [real.id]
        assert await session.get(KnowledgeItem, real.id) is not None
        assert await session.get(Resident, telegram.id) is not None


async def test_a_running_bot_stops_answering_from_the_demo_once_it_is_removed(
    runtime: Runtime,
) -> None:
    """`demo remove` runs in another process while the bot runs: the bot's periodic index
    refresh forgets the deleted items and clusters, so the next resident is told their
    question went to the team, not answered from a removed fact-check or shown an error."""
    assert await load_demo(runtime.services) == 30
    water = "The city will cut off all water supply for two weeks starting Monday."
    await chat(runtime, "first", water)
    assert "FALSE" in runtime.webchat_outbox.sent["first"][-1].text
    lions = "Lions escaped from the national park and are walking in the market tonight"
    await chat(runtime, "first", lions)  # queued: an open cluster in the cluster index
    async with runtime.services.db.session() as session:
        await remove_demo(session)

    await refresh_indexes(runtime.services)  # what the timer runs every few seconds

    for text in (water, lions):
        await chat(runtime, "next", text)
        reply = runtime.webchat_outbox.sent["next"][-1].text
        assert "FALSE" not in reply and "went wrong" not in reply
        assert "passed to the city's team" in reply
    assert await count(runtime.services.db, Request, Request.cluster_id.is_not(None)) == 2


def test_demo_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUMOURBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("RUMOURBOT_EMBEDDER", "hashing")
    get_settings.cache_clear()
    try:
        loaded = CliRunner().invoke(cli, ["demo", "load"])
        assert loaded.exit_code == 0 and "demo loaded: 30 new or changed items" in loaded.output
        removed = CliRunner().invoke(cli, ["demo", "remove"])
        assert removed.exit_code == 0 and "demo removed: 30 items" in removed.output
        assert "Running rumourbot processes stop using them within 5 seconds" in removed.output
    finally:
        get_settings.cache_clear()
