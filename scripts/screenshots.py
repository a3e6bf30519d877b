"""Regenerate docs/screenshots/ (queue, dashboard, cluster, report, report-pdf, queue-phone)
from realistic demo data.

A throwaway SQLite database gets the demo knowledge base, a few weeks of requests (some answered
automatically, some by staff) and open clusters in several languages; the panel is served by
uvicorn on loopback and photographed with Debian's chromium through Playwright.

    .venv/bin/python scripts/screenshots.py

report-pdf.png is the first page of the report's PDF download, drawn by poppler's pdftoppm
(poppler-utils; skipped without it).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import uvicorn
from playwright.async_api import async_playwright
from sqlalchemy import select
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.runtime.process import configure_process  # noqa: E402

configure_process()  # what the `rumourbot` entry point does

from admin.auth import create_user  # noqa: E402
from bot.conversation.publishing import AnswerDraft, publish_answer  # noqa: E402
from bot.runtime.app import Runtime  # noqa: E402
from domain.models import (  # noqa: E402
    Broadcast,
    BroadcastRecipient,
    Cluster,
    ClusterStatus,
    KnowledgeItem,
    Request,
    utcnow,
)
from domain.residents import resident_for  # noqa: E402
from domain.settings import Settings  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "demo password 123"  # noqa: S105 - a throwaway demo database
CHANNELS = ("telegram", "telegram", "whatsapp", "webchat")
QUEUE = [  # text, language, topic, askers, of which in the last hour, assignee
    (
        "Voting stations in Eastlands will close at noon on election day, not 6pm",
        "en",
        "elections",
        41,
        12,
        "amina",
    ),
    (
        "Maji ya bomba yameongezwa sumu na watu wasiojulikana, msinywe hadi Jumamosi",
        "sw",
        "water",
        27,
        9,
        None,
    ),
    (
        "A new strain of cholera has been found in the central market, the council is hiding it",
        "en",
        "health",
        19,
        3,
        "baraka",
    ),
    (
        "Curfew from 6pm starts tonight in all districts, police will arrest anyone outside",
        "en",
        "security",
        15,
        6,
        None,
    ),
    ("Matatu fares double from tomorrow, the county has announced", "en", "transport", 9, 1, None),
    (
        "Pemerintah kota membagikan uang tunai 500 ribu lewat tautan ini, isi data KTP Anda",
        "id",
        "scams",
        8,
        0,
        None,
    ),
    (
        "سيتم قطع الكهرباء عن المدينة بالكامل لمدة ثلاثة أيام ابتداء من الغد",
        "ar",
        "water",
        6,
        2,
        None,
    ),
    ("Las escuelas cerrarán dos semanas por una epidemia de sarampión", "es", "health", 4, 0, None),
]
ANSWERED = [
    ("Free fuel vouchers are handed out at the city hall today", "en", "scams", 22, 5.0),
    ("The main bridge is closing for a year from next week", "en", "transport", 12, 2.5),
]


async def add_cluster(
    rt: Runtime,
    text: str,
    language: str,
    topic: str,
    askers: int,
    recent: int,
    assignee: str | None,
    rng: random.Random,
    days: float = 3,
) -> int:
    now = utcnow()
    async with rt.services.db.session() as session:
        cluster = Cluster(
            representative_text=text,
            status=ClusterStatus.IN_REVIEW if assignee else ClusterStatus.NEW,
            topic=topic,
            assignee=assignee,
            ask_count=askers,
        )
        session.add(cluster)
        await session.flush()
        times = sorted(
            [now - timedelta(minutes=rng.uniform(1, 59)) for _ in range(recent)]
            + [now - timedelta(hours=rng.uniform(1, 24 * days)) for _ in range(askers - recent)]
        )
        for n, when in enumerate(times):
            resident = await resident_for(session, rng.choice(CHANNELS), f"{cluster.id}-{n}")
            resident.language = language
            session.add(
                Request(
                    resident_id=resident.id,
                    channel=resident.channel,
                    text=text,
                    language=language,
                    outcome="queue",
                    cluster_id=cluster.id,
                    received_at=when,
                    forwarded=True,
                    media=[{"kind": "photo", "ref": f"AgACAgQAAxkBAAIBZ2demo{cluster.id}"}]
                    if n == 0
                    else [],
                    candidates=[],
                )
            )
        cluster.first_seen_at, cluster.last_seen_at = times[0], times[-1]
        return cluster.id


async def add_automatic(rt: Runtime, rng: random.Random) -> None:
    """Three weeks of requests the bot answered on its own, with a weekly rhythm."""
    now = utcnow()
    languages = ["en"] * 6 + ["sw"] * 3 + ["hi", "ar", "es", "id"]
    async with rt.services.db.session() as session:
        items = list((await session.scalars(select(KnowledgeItem.id))).all())
        for day in range(21):
            for n in range(int(18 + 10 * rng.random() + (8 if day % 7 in (1, 2) else 0))):
                resident = await resident_for(session, rng.choice(CHANNELS), f"auto-{day}-{n}")
                when = now - timedelta(days=day, hours=rng.uniform(0, 20))
                session.add(
                    Request(
                        resident_id=resident.id,
                        channel=resident.channel,
                        text="(demo)",
                        language=rng.choice(languages),
                        outcome="answer",
                        received_at=when,
                        answered_at=when,
                        forwarded=True,
                        media=[],
                        candidates=[],
                        matched_item_id=rng.choice(items),
                        helpful=rng.choice([True, True, True, False, None, None]),
                    )
                )
        subscribers = []
        for n in range(60):
            resident = await resident_for(session, "telegram", f"sub-{n}")
            resident.language = rng.choice(languages)
            resident.topics = rng.sample(
                ["water", "health", "elections", "security", "scams", "transport"], 2
            )
            subscribers.append(resident)
        await session.flush()
        sent = Broadcast(
            key="demo-water-update",
            topic="water",
            bodies={"en": "The tap water is safe to drink."},
            author="amina",
            recipients=len(subscribers),
            created_at=now - timedelta(days=2),
        )
        session.add(sent)
        await session.flush()
        for resident in subscribers:
            session.add(BroadcastRecipient(broadcast_id=sent.id, resident_id=resident.id))


async def build(rt: Runtime) -> None:
    rng = random.Random(7)  # noqa: S311 - demo data, not secrets
    async with rt.services.db.session() as session:
        for name in ("amina", "baraka"):
            await create_user(session, name, PASSWORD, "moderator")
    await add_automatic(rt, rng)
    for text, language, topic, askers, hours in ANSWERED:
        cluster_id = await add_cluster(
            rt, text, language, topic, askers, 0, None, rng, days=hours / 24
        )
        await publish_answer(
            rt.services,
            cluster_id,
            AnswerDraft(
                verdict="false",
                explanation="The city has announced nothing of the kind.",
                author="amina",
            ),
        )
    for row in QUEUE:
        await add_cluster(rt, *row, rng)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp}/demo.db",  # type: ignore[call-arg]
            demo_data=True,
            telegram_mode="off",
        )
        rt = Runtime(settings)
        async with rt.running():
            await build(rt)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(Starlette(routes=rt.routes()), log_level="warning", lifespan="off")
            )
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.05)
            base = f"http://127.0.0.1:{port}/admin"
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
                )
                page = await browser.new_page(
                    viewport={"width": 1440, "height": 900}, device_scale_factor=1
                )
                await page.goto(f"{base}/login")
                await page.fill("input[name=username]", "amina")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_selector("table.queue")
                OUT.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(OUT / "queue.png"), full_page=True)
                await page.goto(f"{base}/dashboard")
                await page.wait_for_load_state("networkidle")
                await page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
                start = (date.today() - timedelta(days=27)).isoformat()
                await page.goto(f"{base}/report?start={start}&end={date.today().isoformat()}")
                await page.screenshot(path=str(OUT / "report.png"), full_page=True)
                async with page.expect_download() as waiting:
                    await page.click("text=Download PDF")
                pdf = Path(tmp) / "report.pdf"
                await (await waiting.value).save_as(pdf)
                if tool := shutil.which("pdftoppm"):
                    subprocess.run(  # noqa: ASYNC221, S603 - a fixed tool on our own file
                        [
                            tool,
                            "-png",
                            "-r",
                            "70",
                            "-f",
                            "1",
                            "-l",
                            "1",
                            "-singlefile",
                            str(pdf),
                            str(OUT / "report-pdf"),
                        ],
                        check=True,
                    )
                await page.goto(f"{base}/")
                await page.click("table.queue tbody tr:first-child td.claim a")
                await page.wait_for_selector("section.similar")
                await page.screenshot(path=str(OUT / "cluster.png"), full_page=True)
                phone = await browser.new_page(viewport={"width": 390, "height": 844})
                await phone.context.add_cookies(await page.context.cookies())
                await phone.goto(f"{base}/")
                await phone.screenshot(path=str(OUT / "queue-phone.png"))
                await browser.close()
            server.should_exit = True
            await task
    print(f"wrote queue, dashboard, report, report-pdf, cluster and queue-phone PNGs in {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
