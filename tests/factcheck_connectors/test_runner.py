"""The shared runner: de-duplication across sources, scheduling, the config file, the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from bot.conversation.services import Services
from domain.knowledge import ItemData, upsert_item
from domain.models import ItemStatus, KnowledgeItem, Source, utcnow
from factcheck_connectors import manage
from factcheck_connectors.config import load_config_file
from factcheck_connectors.runner import Runner
from tests.factcheck_connectors.conftest import FakeWeb, payload

FEED = "https://factdesk.example/claimreview.json"
PAGE = "https://factdesk.example/checks/bridge"


async def active(services: Services) -> int:
    async with services.db.session() as session:
        query = (
            select(func.count())
            .select_from(KnowledgeItem)
            .where(KnowledgeItem.status == ItemStatus.ACTIVE)
        )
        return int(await session.scalar(query) or 0)


async def test_same_url_or_same_claim_from_two_sources_is_one_item(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    web.serve(PAGE, payload("factcheck_page.html"))
    await manage.add_source(services, "claimreview_page", "desk", {"urls": PAGE}, client=client)
    same_url = {
        "@type": "ClaimReview",
        "claimReviewed": "Bridge closing for half a year",
        "url": "https://www.factdesk.example/checks/bridge/?utm_source=whatsapp",
        "reviewRating": {"alternateName": "False"},
    }
    same_claim = {
        "@type": "ClaimReview",
        "url": "https://other.example/bridge",
        "claimReviewed": "the Nyali bridge will be CLOSED to all traffic for six months!!",
        "reviewRating": {"alternateName": "False"},
    }
    new = {
        "@type": "ClaimReview",
        "url": "https://other.example/new",
        "claimReviewed": "Bus fares double from Monday",
        "reviewRating": {"ratingValue": 5},
    }
    web.serve(FEED, json.dumps([same_url, same_claim, new]))
    status = await manage.add_source(
        services, "claimreview_feed", "other", {"url": FEED}, client=client
    )
    assert status.items_total == 1 and await active(services) == 2
    report = await manage.run_source_now(services, "other", client=client)
    assert report.ok and report.fetched == 0  # same body: nothing new


async def test_staff_items_are_keys_too(
    services: Services, web: FakeWeb, client: httpx.AsyncClient
) -> None:
    async with services.db.session() as session:
        await upsert_item(
            session,
            ItemData(claim="x", verdict="false", source_url=PAGE, origin="staff", external_id="s1"),
        )
    web.serve(PAGE, payload("factcheck_page.html"))
    status = await manage.add_source(
        services, "claimreview_page", "desk", {"urls": PAGE}, client=client
    )
    assert status.items_total == 0 and await active(services) == 1


async def test_run_due_runs_only_due_enabled_sources(
    services: Services, web: FakeWeb, client: httpx.AsyncClient, runner: Runner
) -> None:
    web.serve(FEED, payload("claimreview_feed.json"))
    web.serve(PAGE, payload("factcheck_page.html"))
    await manage.add_source(services, "claimreview_feed", "feed", {"url": FEED}, client=client)
    await manage.add_source(services, "claimreview_page", "page", {"urls": PAGE}, client=client)
    await manage.add_source(services, "push", "cms", {})
    assert await runner.run_due() == []  # just fetched when added
    async with services.db.session() as session:
        await session.execute(update(Source).values(next_run_at=utcnow() - timedelta(seconds=1)))
    assert sorted(r.source for r in await runner.run_due()) == ["feed", "page"]
    assert await runner.run_due() == []  # next run is an interval away
    await manage.set_enabled(services.db, "page", False)
    async with services.db.session() as session:
        await session.execute(update(Source).values(next_run_at=utcnow() - timedelta(seconds=1)))
    assert [r.source for r in await runner.run_due()] == ["feed"]
    await manage.remove_source(services.db, "feed")
    assert [s.name for s in await manage.list_sources(services.db)] == ["cms", "page"]
    assert await active(services) == 3  # removing a source keeps its items


async def test_config_file_sources(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    csv = tmp_path / "s.csv"
    csv.write_bytes(payload("statements.csv"))
    path = tmp_path / "sources.toml"
    path.write_text(f'''
[[sources]]
name = "city-csv"
kind = "csv"
location = "{csv}"
interval_minutes = 60

[[sources]]
name = "cms"
kind = "push"
token = "s3cret-token"

[[sources]]
name = "broken"
kind = "rss"
''')
    assert await load_config_file(services, path) == ["city-csv", "cms"]
    assert "broken" in caplog.text and "needs url" in caplog.text
    statuses = {s.name: s for s in await manage.list_sources(services.db)}
    assert statuses["city-csv"].managed_by == "file" and statuses["cms"].config["token"] == "••••••"
    assert "s3cret" not in str(statuses["cms"])
    report = await manage.run_source_now(services, "city-csv")
    assert report.ok and report.changed == 2
    path.write_text("")
    await load_config_file(services, path)
    assert {s.name: s.enabled for s in await manage.list_sources(services.db)} == {
        "city-csv": False,
        "cms": False,
    }


def test_cli_sources_and_sync(
    settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime.cli import app
    from domain.settings import get_settings

    csv = tmp_path / "s.csv"
    csv.write_bytes(payload("statements.csv"))
    monkeypatch.setenv("RUMOURBOT_DATABASE_URL", settings.database_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("RUMOURBOT_DEMO_DATA", "false")
    monkeypatch.setenv("RUMOURBOT_EMBEDDER", "hashing")
    monkeypatch.setenv("RUMOURBOT_SOURCES_FILE", str(tmp_path / "none.toml"))
    get_settings.cache_clear()
    try:
        cli = CliRunner()
        added = cli.invoke(app, ["sources", "add", "csv", "city-csv", f"location={csv}"])
        assert added.exit_code == 0, added.output
        assert "2 items" in added.output
        refused = cli.invoke(app, ["sources", "add", "rss", "bad", "url=nope"])
        assert refused.exit_code == 2 and "must start with http" in refused.output
        synced = cli.invoke(app, ["sync", "city-csv"])
        assert synced.exit_code == 0 and "city-csv: 0 fetched" in synced.output
        listed = cli.invoke(app, ["sources"])
        assert listed.exit_code == 0 and "city-csv" in listed.output and "ok" in listed.output
    finally:
        get_settings.cache_clear()


async def test_run_forever_loads_the_file_and_runs_due_sources(
    services: Services, tmp_path: Path
) -> None:
    import asyncio

    csv = tmp_path / "s.csv"
    csv.write_bytes(payload("statements.csv"))
    path = tmp_path / "sources.toml"
    path.write_text(f'[[sources]]\nname = "city-csv"\nkind = "csv"\nlocation = "{csv}"\n')
    services.settings.sources_file = str(path)
    stop = asyncio.Event()
    task = asyncio.create_task(Runner(services).run_forever(stop, tick=0.05))
    for _ in range(200):
        (status,) = await manage.list_sources(services.db) or [None]
        if status is not None and status.last_success_at:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert status is not None and status.items_total == 2 and status.state == "ok"
