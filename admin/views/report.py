"""The council report (monitoring, evaluation and learning): a month or any range of the city's
days, as a page, a PDF and a CSV.

The PDF is the same template printed by WeasyPrint (Pango shapes Arabic and Devanagari with the
system's Noto fonts); it never fetches anything, so text from residents cannot make the server
load a URL.
"""

from __future__ import annotations

import asyncio
import calendar
from datetime import date, timedelta
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import charts
from admin.panel import Panel, requires
from admin.stats import Report, report
from admin.views.insight import csv_response
from domain.models import utcnow

MAX_DAYS = 366
CHARTS = ("weeks", "answered", "topics", "languages", "channels")


class PeriodError(ValueError):
    """A period the report cannot cover; the message is safe to show."""


def period(request: Request, today: date) -> tuple[date, date]:
    """The city's days asked for: `month=YYYY-MM`, or `start` and `end` (YYYY-MM-DD); by default
    this month so far."""
    query = request.query_params
    try:
        if query.get("start") or query.get("end"):
            start = date.fromisoformat(query.get("start") or query.get("end", ""))
            end = date.fromisoformat(query.get("end") or query.get("start", ""))
        elif query.get("month"):
            year, month = (int(part) for part in query["month"].split("-", 1))
            start = date(year, month, 1)
            end = date(year, month, calendar.monthrange(year, month)[1])
        else:
            start, end = today.replace(day=1), today
    except ValueError as exc:
        raise PeriodError("Give dates as YYYY-MM-DD, or a month as YYYY-MM.") from exc
    if end < start:
        raise PeriodError("The period ends before it starts.")
    if (end - start).days >= MAX_DAYS:
        raise PeriodError(f"A report covers at most {MAX_DAYS} days.")
    return start, end


def query_of(start: date, end: date) -> str:
    return f"start={start.isoformat()}&end={end.isoformat()}"


async def figures(panel: Panel, request: Request) -> Report | Response:
    today = utcnow().astimezone(panel.zone).date()
    try:
        start, end = period(request, today)
    except PeriodError as exc:
        return panel.render(request, "error.html", status_code=400, message=str(exc))
    async with panel.services.db.session() as session:
        return await report(session, start, end, panel.zone)


def context(data: Report, today: date) -> dict[str, Any]:
    answered = data.automatic + data.by_staff
    previous = data.start.replace(day=1) - timedelta(days=1)
    return {
        "data": data,
        "share": {
            "automatic": round(100 * data.automatic / data.total) if data.total else None,
            "staff": round(100 * data.by_staff / data.total) if data.total else None,
            "open": round(100 * data.waiting / data.total) if data.total else None,
        },
        "answered": answered,
        "helpful_share": round(100 * data.helpful / data.feedback) if data.feedback else None,
        "charts": {name: charts.report_chart(name, data) for name in CHARTS},
        "query": query_of(data.start, data.end),
        "this_month": today.strftime("%Y-%m"),
        "last_month": previous.strftime("%Y-%m"),
    }


async def report_html(
    panel: Panel, request: Request, printed: bool
) -> tuple[Report, Response] | Response:
    """The period's figures and the report page (`printed`: as laid out for the PDF), or the
    error page for a period that cannot be read."""
    data = await figures(panel, request)
    if isinstance(data, Response):
        return data
    today = utcnow().astimezone(panel.zone).date()
    return data, panel.render(request, "report.html", printed=printed, **context(data, today))


@requires("viewer")
async def report_page(panel: Panel, request: Request) -> Response:
    page = await report_html(panel, request, printed=False)
    return page if isinstance(page, Response) else page[1]


def render_pdf(html: str) -> bytes:
    from PIL import ImageFile
    from weasyprint import HTML  # imported here: it loads Pango, which the rest never needs

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # WeasyPrint turns it on for the whole process

    def refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the report loads nothing from outside ({url[:40]})")

    pdf = HTML(string=html, url_fetcher=refuse).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def filename(data: Report, extension: str) -> str:
    return f"report-{data.start.isoformat()}-to-{data.end.isoformat()}.{extension}"


@requires("viewer")
async def report_pdf(panel: Panel, request: Request) -> Response:
    page = await report_html(panel, request, printed=True)
    if isinstance(page, Response):
        return page
    data, html = page
    pdf = await asyncio.to_thread(render_pdf, bytes(html.body).decode("utf-8"))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{filename(data, "pdf")}"'},
    )


def csv_rows(data: Report, zone: str) -> list[list[object]]:
    """The report as rows of (section, name, value, detail); empty cells stay empty."""
    rows: list[list[object]] = [["section", "name", "value", "detail"]]
    rows += [
        ["period", "start", data.start.isoformat(), zone],
        ["period", "end", data.end.isoformat(), zone],
        ["requests", "total", data.total, None],
        ["requests", "residents", data.residents, None],
        ["answered", "automatically", data.automatic, None],
        ["answered", "by staff", data.by_staff, None],
        ["answered", "still open", data.waiting, None],
        ["first answer", "rumours answered", data.answered_rumours, None],
        ["first answer", "median hours", data.first_answer_median_hours, None],
        ["first answer", "p90 hours", data.first_answer_p90_hours, None],
        ["reach", "residents reached by answers", data.reached_by_answers, None],
        ["reach", "broadcasts", data.broadcasts, None],
        ["reach", "residents reached by broadcasts", data.reached_by_broadcasts, None],
        ["reach", "residents sent answers directly", data.answers_reached_directly, None],
        ["reach", "new residents through shared cards", data.answers_reached_shared, None],
        ["feedback", "helpful", data.helpful, None],
        ["feedback", "not helpful", data.not_helpful, None],
    ]
    rows += [["week", week.isoformat(), count, None] for week, count in data.weeks]
    for section, counts in (
        ("topic", data.topics),
        ("language", data.languages),
        ("channel", data.channels),
    ):
        rows += [[section, name, count, None] for name, count in counts.most_common()]
    for top in (*data.top, *data.top_automatic):
        rows.append(
            [
                "top rumour" if top.cluster_id is not None else "top automatic answer",
                top.text,
                top.residents,
                f"{top.verdict}: {top.answer}" if top.verdict else None,
            ]
        )
    return rows


@requires("viewer")
async def report_csv(panel: Panel, request: Request) -> Response:
    data = await figures(panel, request)
    if isinstance(data, Response):
        return data
    return csv_response(csv_rows(data, panel.zone.key), filename(data, "csv"))


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/report", partial(report_page, panel), methods=["GET"]),
        Route("/report.pdf", partial(report_pdf, panel), methods=["GET"]),
        Route("/report.csv", partial(report_csv, panel), methods=["GET"]),
    ]
