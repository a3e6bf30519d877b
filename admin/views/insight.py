"""The dashboard, its charts, and CSV exports of clusters and answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from functools import partial

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import charts
from admin.clusters import QueueFilter, queue
from admin.panel import Panel, requires
from admin.stats import insight
from domain.models import Answer, Cluster, KnowledgeItem

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # an SVG image runs no script


@requires("viewer")
async def dashboard(panel: Panel, request: Request) -> Response:
    """Every number and chart from one `insight` (SQL aggregates), charts inline as SVG."""
    async with panel.services.db.session() as session:
        data = await insight(session, zone=panel.zone)
    answered = data.automatic + data.by_staff
    share = round(100 * data.automatic / answered) if answered else None
    drawn = {name: charts.chart_data(name, data) for name in charts.NAMES}
    return panel.render(request, "dashboard.html", data=data, share=share, charts=drawn)


@requires("viewer")
async def chart(panel: Panel, request: Request) -> Response:
    """One chart as an SVG file (to save or embed elsewhere)."""
    async with panel.services.db.session() as session:
        data = await insight(session, zone=panel.zone)
    drawn = charts.chart_data(request.path_params["name"], data)
    if drawn is None:
        return panel.render(request, "error.html", status_code=404, message="No such chart.")
    kind, bars = drawn
    svg = panel.env.get_template("chart.svg").render(
        kind=kind, bars=bars, title=request.path_params["name"]
    )
    return Response(svg, media_type="image/svg+xml", headers={"content-security-policy": SVG_CSP})


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", ";")  # what spreadsheets may run as formulas


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a leading ' for formula starts, empty stays empty."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(rows: Sequence[Sequence[object]], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM: Excel then reads Swahili, Hindi and Arabic as UTF-8
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@requires("viewer")
async def clusters_csv(panel: Panel, request: Request) -> Response:
    async with panel.services.db.session() as session:
        rows = await queue(session, QueueFilter(status="all"))
    header = [
        "id",
        "representative_text",
        "status",
        "topic",
        "assignee",
        "residents",
        "requests",
        "last_hour",
        "priority",
        "first_seen",
        "last_seen",
        "languages",
        "channels",
    ]
    body = [
        [
            r.cluster.id,
            r.cluster.representative_text,
            r.cluster.status,
            r.cluster.topic or "",
            r.cluster.assignee or "",
            r.askers,
            r.requests,
            r.last_hour,
            r.priority,
            r.first_seen.isoformat() if r.first_seen else "",
            r.last_seen.isoformat() if r.last_seen else "",
            " ".join(sorted(r.languages)),
            " ".join(sorted(r.channels)),
        ]
        for r in rows
    ]
    return csv_response([header, *body], "clusters.csv")


@requires("viewer")
async def answers_csv(panel: Panel, request: Request) -> Response:
    query = (
        select(Answer, Cluster, KnowledgeItem)
        .outerjoin(Cluster, Answer.cluster_id == Cluster.id)
        .outerjoin(KnowledgeItem, Answer.knowledge_item_id == KnowledgeItem.id)
        .order_by(Answer.id)
    )
    async with panel.services.db.session() as session:
        rows = (await session.execute(query)).all()
    header = [
        "answer_id",
        "cluster_id",
        "claim",
        "verdict",
        "explanation",
        "source_url",
        "author",
        "version",
        "published_at",
        "first_asked",
        "residents",
    ]
    body = [
        [
            a.id,
            a.cluster_id or "",
            (i.claim if i else c.representative_text if c else ""),
            a.verdict,
            a.explanation,
            a.source_url or "",
            a.author or "",
            a.version,
            a.published_at.isoformat() if a.published_at else "",
            c.first_seen_at.isoformat() if c else "",
            c.ask_count if c else "",
        ]
        for a, c, i in rows
    ]
    return csv_response([header, *body], "answers.csv")


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/dashboard", partial(dashboard, panel), methods=["GET"]),
        Route("/charts/{name}.svg", partial(chart, panel), methods=["GET"]),
        Route("/export/clusters.csv", partial(clusters_csv, panel), methods=["GET"]),
        Route("/export/answers.csv", partial(answers_csv, panel), methods=["GET"]),
    ]
