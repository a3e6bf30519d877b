"""The council report: its figures against the rows the test wrote, the city's days, the PDF
and the CSV downloads."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update

from bot.amplifiers.join import record_arrival
from bot.runtime.app import Runtime
from domain.knowledge import ItemData, upsert_item
from domain.models import Broadcast, BroadcastRecipient, Cluster, Request, utcnow
from domain.residents import resident_for
from tests.admin.conftest import add_request, csrf_of, logged_in, seed, web_client

LIONS = "Lions escaped from the national park and are walking in the market tonight"
ROAD = "الجيش سيغلق الطريق السريع الليلة"
EVIL = '=HYPERLINK("http://evil") the water is poisoned'
CITY = {"time_zone": "Asia/Kolkata"}  # for the `city` fixture (one test's own time zone)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text by poppler's pdftotext (poppler-utils, from scripts/install_fonts.sh)."""
    assert shutil.which("pdftotext"), "pdftotext missing: run scripts/install_fonts.sh"
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


async def publish(client: httpx.AsyncClient, cluster_id: int, claim: str, why: str) -> None:
    page = await client.get(f"/admin/clusters/{cluster_id}/answer")
    response = await client.post(
        f"/admin/clusters/{cluster_id}/answer",
        data={
            "csrf_token": csrf_of(page.text),
            "action": "confirm",
            "verdict": "false",
            "claim_en": claim,
            "explanation_en": why,
            "source_url": "",
        },
    )
    assert response.status_code in (200, 303), response.text


async def automatic(runtime: Runtime, chats: dict[str, bool | None], days_ago: float = 0) -> None:
    """Requests answered from the knowledge base, with the residents' feedback."""
    when = utcnow() - timedelta(days=days_ago)
    async with runtime.services.db.session() as session:
        item, _ = await upsert_item(
            session,
            ItemData(claim="Bus fares will double", verdict="false", explanation="They will not."),
        )
        for chat, helpful in chats.items():
            await add_request(session, "telegram", chat, text="bus fares double?", language="en",
                              outcome="answer", matched_item_id=item.id, received_at=when,
                              answered_at=when, helpful=helpful)


async def broadcast(runtime: Runtime, chats: list[str]) -> None:
    async with runtime.services.db.session() as session:
        sent = Broadcast(key="test-report", topic="health", bodies={}, recipients=len(chats))
        session.add(sent)
        await session.flush()
        for chat in chats:
            resident = await resident_for(session, "telegram", chat)
            session.add(BroadcastRecipient(broadcast_id=sent.id, resident_id=resident.id))


async def test_report_figures_match_the_rows(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    lions = await seed(runtime, LIONS, ["r1", "r2", "r3"], minutes_ago=90, topic="security")
    road = await seed(runtime, ROAD, ["s1"], language="ar", minutes_ago=30, channel="telegram")
    await seed(runtime, EVIL, ["w1"], topic="water")  # still open
    await automatic(runtime, {"a1": True, "a2": False})
    await automatic(runtime, {"old": True}, days_ago=10)  # outside the period
    await broadcast(runtime, ["a1", "b2"])
    await publish(moderator, lions, "Lions escaped from the national park", "Rangers confirm.")
    await publish(moderator, road, "The army will close the highway", "The army denies it.")
    today = utcnow().date()
    period = f"start={(today - timedelta(days=2)).isoformat()}&end={today.isoformat()}"

    page = await moderator.get(f"/admin/report?{period}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-figure="requests">7<' in html  # 3 + 1 + 1 + 2, not the one 10 days ago
    assert "from 7 residents" in html
    assert 'data-figure="median">1.0 h<' in html  # 1.5 h and 0.5 h
    assert "90% within 1.5 h; 2 rumours answered by staff" in html
    assert 'data-figure="automatic">29%<' in html and "57% by staff · 14% still open" in html
    assert 'data-figure="reached">6<' in html  # 4 told by staff + 2 answered automatically
    assert "2 residents by 1 broadcast" in html
    assert "1 helpful, 1 not, of 2 replies" in html
    top = html.split("Top rumours and their answers", 1)[1]
    assert top.index("Lions escaped from the national park") < top.index("The army will close")
    assert f'asked as: <span dir="auto">{ROAD}' in top
    assert "Rangers confirm." in top and "Not answered yet" in top
    assert "Bus fares will double" in top  # answered automatically most often
    assert html.count("<svg") == 5 and "<script" not in html.split("<main>", 1)[1]
    assert page.headers["x-frame-options"] == "DENY"

    sheet = await moderator.get(f"/admin/report.csv?{period}")
    assert sheet.status_code == 200 and sheet.content.startswith("\ufeff".encode())
    assert "attachment" in sheet.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "name", "value", "detail"]
    assert ["requests", "total", "7", ""] in rows  # an empty cell is empty, not "'"
    assert ["first answer", "median hours", "1.0", ""] in rows
    assert ["language", "ar", "1", ""] in rows and ["topic", "security", "3", ""] in rows
    assert ["top rumour", "'" + EVIL, "1", ""] in rows  # no formula injection

    pdf = await moderator.get(f"/admin/report.pdf?{period}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    assert pdf.headers["x-content-type-options"] == "nosniff"
    text = await asyncio.to_thread(pdf_text, pdf.content)
    assert "Report for the council" in text and "Lions escaped" in text
    assert ROAD in "".join(c for c in text if c not in "\u202a\u202b\u202c\u202e")


async def test_report_needs_staff_and_a_sensible_period(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    for path in ("/admin/report", "/admin/report.pdf", "/admin/report.csv"):
        response = await client.get(path)
        assert response.status_code == 303 and "/login" in response.headers["location"]
    viewer = await logged_in(runtime, client, "viewer")
    assert (await viewer.get("/admin/report")).status_code == 200
    assert (await viewer.get("/admin/report?month=2026-02")).text.count("28 Feb 2026") == 1
    bad = await viewer.get("/admin/report?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 400 and "ends before it starts" in bad.text
    assert (await viewer.get("/admin/report.csv?start=nope")).status_code == 400
    assert (await viewer.get("/admin/report?start=2020-01-01&end=2026-01-01")).status_code == 400


async def test_report_days_are_the_city_days(city: Runtime) -> None:
    await seed(city, "The metro will stop tonight", ["k1"])
    zone = ZoneInfo("Asia/Kolkata")
    day = datetime.now(zone).date() - timedelta(days=3)
    # 00:30 in Delhi is 19:00 UTC the day before
    local = datetime.combine(day, time(0, 30), tzinfo=zone)
    async with city.services.db.session() as session:
        await session.execute(update(Request).values(received_at=local.astimezone(UTC)))
    async with web_client(city) as client:
        viewer = await logged_in(city, client, "viewer")

        async def requests_on(when: date) -> str:
            page = await viewer.get(f"/admin/report?start={when}&end={when}")
            assert "days in Asia/Kolkata" in page.text
            return page.text.split('data-figure="requests">', 1)[1].split("<", 1)[0]

        assert await requests_on(day) == "1"
        assert await requests_on(day - timedelta(days=1)) == "0"  # its UTC day


async def test_report_shows_each_answers_reach_directly_and_through_shared_cards(
    runtime: Runtime, moderator: httpx.AsyncClient
) -> None:
    lions = await seed(runtime, LIONS, ["r1", "r2"], minutes_ago=60)
    await publish(moderator, lions, "Lions escaped from the national park", "Rangers confirm.")
    async with runtime.services.db.session() as session:
        answer_id = (await session.get(Cluster, lions)).answer_id  # type: ignore[union-attr]
        assert answer_id is not None
        newcomer = await resident_for(session, "telegram", "n1")
        await session.flush()
        assert await record_arrival(session, answer_id, newcomer.id)
        assert not await record_arrival(session, answer_id, newcomer.id)  # once per resident
    today = utcnow().date()
    period = f"start={(today - timedelta(days=2)).isoformat()}&end={today.isoformat()}"

    html = (await moderator.get(f"/admin/report?{period}")).text
    assert 'data-figure="shared">1<' in html
    assert "new resident through shared cards' links · 2 residents sent answers directly" in html
    top = html.split("Top rumours and their answers", 1)[1]
    assert 'data-figure="top-direct">2<' in top and 'data-figure="top-shared">1<' in top

    sheet = await moderator.get(f"/admin/report.csv?{period}")
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert ["reach", "new residents through shared cards", "1", ""] in rows
    assert ["reach", "residents sent answers directly", "2", ""] in rows
