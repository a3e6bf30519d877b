"""The Sources page: every source with its status; an admin adds one (tried once against a fake
fact-check site over real HTTP first), pauses, resumes, runs and removes it, each audited."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from bot.runtime.app import Runtime
from domain.models import AuditEvent, KnowledgeItem, Source
from factcheck_connectors.config import load_config_file
from tests.admin.conftest import csrf_of
from tests.fakes.factcheck_site import FactCheckSite, factcheck_site


@pytest.fixture
def site(runtime: Runtime) -> Iterator[tuple[FactCheckSite, str]]:
    """The fake site, let through the connectors' public-address guard by the operator's
    setting (RUMOURBOT_CONNECTOR_PRIVATE_HOSTS), as an intranet CMS would be."""
    with factcheck_site() as (fake, url):
        settings = runtime.services.settings
        settings.connector_private_hosts = url.removeprefix("http://")
        settings.connector_retries = 1
        yield fake, url


async def names(runtime: Runtime, model: type, column: str) -> list[str]:
    async with runtime.services.db.session() as session:
        return list((await session.scalars(select(getattr(model, column)))).all())


def flash(response: httpx.Response) -> str:
    return unquote(response.headers["location"])


async def add(admin: httpx.AsyncClient, kind: str, name: str, **config: str) -> httpx.Response:
    csrf = csrf_of((await admin.get("/admin/sources")).text)
    fields = {f"cfg_{k}": v for k, v in config.items()}
    return await admin.post(
        "/admin/sources", data={"kind": kind, "name": name, "csrf_token": csrf, **fields}
    )


async def test_add_tried_once_then_pause_resume_run_remove(
    runtime: Runtime, admin: httpx.AsyncClient, site: tuple[FactCheckSite, str]
) -> None:
    fake, url = site
    page = await admin.get("/admin/sources")
    assert page.status_code == 200 and "No sources yet" in page.text
    assert 'href="/admin/sources" class="active">Sources' in page.text

    added = await add(admin, "claimreview_feed", "fact-desk", url=f"{url}/checks/feed.json")
    assert added.status_code == 303 and "Added fact-desk: 2 items fetched" in flash(added)
    assert fake.hits == ["/checks/feed.json"]
    page = (await admin.get("/admin/sources")).text
    assert "fact-desk" in page and "Working" in page and "ClaimReview feed (JSON)" in page
    assert len(await names(runtime, KnowledgeItem, "claim")) == 2
    event = (await events(runtime, "add_source"))[0]
    assert event.target == "source:fact-desk" and event.after["kind"] == "claimreview_feed"

    csrf = csrf_of(page)
    paused = await admin.post("/admin/sources/fact-desk/pause", data={"csrf_token": csrf})
    assert "Paused fact-desk" in flash(paused)
    assert "Paused" in (await admin.get("/admin/sources")).text
    resumed = await admin.post("/admin/sources/fact-desk/resume", data={"csrf_token": csrf})
    assert "Resumed fact-desk" in flash(resumed)
    pause, resume = (
        (await events(runtime, "pause_source"))[0],
        (await events(runtime, "resume_source"))[0],
    )
    assert pause.before["enabled"] and not pause.after["enabled"] and resume.after["enabled"]

    fake.down = True  # run now, through the runner the worker uses: the failure is shown
    ran = await admin.post("/admin/sources/fact-desk/run", data={"csrf_token": csrf})
    assert "fact-desk failed:" in flash(ran) and "answered 503" in flash(ran)
    page = (await admin.get("/admin/sources")).text
    assert "Failing" in page and "answered 503" in page
    fake.down = False
    ran = await admin.post("/admin/sources/fact-desk/run", data={"csrf_token": csrf})
    assert "fact-desk: 0 fetched" in flash(ran)  # nothing new since the cursor
    assert "Working" in (await admin.get("/admin/sources")).text

    removed = await admin.post("/admin/sources/fact-desk/remove", data={"csrf_token": csrf})
    assert "Removed fact-desk; its items stay" in flash(removed)
    assert await names(runtime, Source, "name") == []
    assert len(await names(runtime, KnowledgeItem, "claim")) == 2
    assert (await events(runtime, "remove_source"))[0].before["name"] == "fact-desk"
    gone = await admin.post("/admin/sources/fact-desk/pause", data={"csrf_token": csrf})
    assert gone.status_code == 404


async def events(runtime: Runtime, name: str) -> list[AuditEvent]:
    async with runtime.services.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.name == name).order_by(AuditEvent.id)
        return list((await session.scalars(query)).all())


FAILING_TRIES = [
    ("claimreview_feed", {"url": "/checks/missing.json"}, "says the address does not exist"),
    ("claimreview_feed", {"url": "javascript:alert(1)"}, "must be a web address"),
    ("claimreview_page", {"urls": "https://a.example/x file:///etc/passwd"}, "web address"),
    ("csv", {"location": "/etc/passwd"}, "'location' must be a web address"),
    ("rss", {"url": "http://127.0.0.1:9/feed"}, "loopback, private or internal address"),
    ("rss", {"url": "/press.rss", "topic": "floods"}, "unknown topic 'floods'"),
    ("rss", {}, "a rss source needs url"),
    ("nonsense", {}, "unknown source kind"),
]


async def test_a_failing_try_shows_why_and_saves_nothing(
    runtime: Runtime, admin: httpx.AsyncClient, site: tuple[FactCheckSite, str]
) -> None:
    _, url = site
    for kind, config, expected in FAILING_TRIES:
        given = {
            k: (url + v if v.startswith("/") and k != "location" else v) for k, v in config.items()
        }
        response = await add(admin, kind, "tried", **given)
        assert response.status_code == 400, (kind, config)
        shown = html.unescape(response.text)
        assert "Not added:" in shown and expected in shown, (kind, config)
    assert await names(runtime, Source, "name") == []
    assert await events(runtime, "add_source") == []


async def test_private_addresses_refused_unless_the_operator_allows_them(
    runtime: Runtime, admin: httpx.AsyncClient, site: tuple[FactCheckSite, str]
) -> None:
    fake, url = site
    runtime.services.settings.connector_private_hosts = ""
    refused = await add(admin, "rss", "press", url=f"{url}/press.rss")
    assert refused.status_code == 400 and "loopback, private or internal" in refused.text
    assert fake.hits == []  # refused before any connection was made
    runtime.services.settings.connector_private_hosts = url.removeprefix("http://")
    assert (await add(admin, "rss", "press", url=f"{url}/press.rss")).status_code == 303


async def test_file_sources_listed_and_push_token_shown_once(
    runtime: Runtime, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    toml = tmp_path / "sources.toml"
    toml.write_text(
        '[[sources]]\nname = "city-press"\nkind = "rss"\nurl = "https://city.example/p.xml"\n'
    )
    runtime.services.settings.sources_file = str(toml)
    page = (await admin.get("/admin/sources")).text
    assert "city-press" in page and "not loaded yet" in page
    await load_config_file(runtime.services)
    page = (await admin.get("/admin/sources")).text
    assert "not loaded yet" not in page and str(toml) in page
    csrf = csrf_of(page)
    kept = await admin.post("/admin/sources/city-press/remove", data={"csrf_token": csrf})
    assert "remove it there" in flash(kept) and await names(runtime, Source, "name") == [
        "city-press"
    ]

    pushed = await add(admin, "push", "cms", language="sw")
    assert pushed.status_code == 200 and "shown only now" in pushed.text
    token = pushed.text.split('<code class="token">')[1].split("<")[0]
    assert len(token) > 20 and token not in (await admin.get("/admin/sources")).text


async def test_only_admins_change_sources(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    page = await moderator.get("/admin/sources")
    assert page.status_code == 200 and "Add a source" not in page.text
    csrf = csrf_of(page.text)
    response = await moderator.post(
        "/admin/sources", data={"kind": "push", "name": "cms", "csrf_token": csrf}
    )
    assert response.status_code == 403
    assert await names(runtime, Source, "name") == []
