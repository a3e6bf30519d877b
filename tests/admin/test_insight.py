"""The dashboard, its charts and the CSV exports."""

from __future__ import annotations

import csv
import io

import httpx

from bot.runtime.app import Runtime
from tests.admin.conftest import csrf_of, seed

LIONS = "Lions escaped from the national park and are walking in the market tonight"


async def test_dashboard_numbers_and_charts(runtime: Runtime, moderator: httpx.AsyncClient) -> None:
    await seed(runtime, LIONS, ["r1", "r2"], minutes_ago=90, topic="security")
    await seed(runtime, '=HYPERLINK("http://evil") free money', ["r3"], language="sw")
    csrf = csrf_of((await moderator.get("/admin/clusters/1/answer")).text)
    await moderator.post(
        "/admin/clusters/1/answer",
        data={
            "csrf_token": csrf,
            "action": "confirm",
            "verdict": "false",
            "claim_en": LIONS,
            "explanation_en": "Rangers confirm.",
            "source_url": "",
        },
    )
    page = await moderator.get("/admin/dashboard")
    assert page.status_code == 200
    assert "1.5 h" in page.text  # median first ask -> answer
    assert LIONS in page.text  # top rumours of the week
    for name in ("per-day", "answered", "languages", "topics", "channels"):
        chart = await moderator.get(f"/admin/charts/{name}.svg")
        assert chart.status_code == 200 and chart.headers["content-type"].startswith(
            "image/svg+xml"
        )
        assert "<script" not in chart.text and chart.text.lstrip().startswith("<svg")
        assert "script-src" not in chart.headers["content-security-policy"]
    assert (await moderator.get("/admin/charts/nope.svg")).status_code == 404


async def test_csv_exports(runtime: Runtime, viewer: httpx.AsyncClient) -> None:
    await seed(runtime, '=HYPERLINK("http://evil") free money', ["r3"], language="sw")
    response = await viewer.get("/admin/export/clusters.csv")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["representative_text"].startswith("'=HYPERLINK")  # no formula injection
    assert rows[0]["residents"] == "1" and rows[0]["languages"] == "sw"
    answers = await viewer.get("/admin/export/answers.csv")
    assert answers.status_code == 200 and answers.text.startswith("\ufeffanswer_id,cluster_id")
