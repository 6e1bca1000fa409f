"""The analytics page for signed-in staff: aggregates only (clinic/handoff/analytics.py), no patient
text. Each chart is drawn by Chart.js (static/vendor/, from the npm registry) from the data table
printed beside it, which screen readers read; without script the tables are the page.

GET /analytics?from=YYYY-MM-DD&to=YYYY-MM-DD      the page (the last 30 days by default)
GET /analytics.csv?from=...&to=...                 the same figures as CSV
GET /api/analytics?from=...&to=...                 the same as JSON (bearer tokens too)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Tuple
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from clinic.handoff import analytics
from clinic.handoff.review_store import ReviewStore
from clinic.handoff.store import utcnow
from clinic.settings import get_settings

blueprint = Blueprint("analytics", __name__)
DEFAULT_DAYS = 30
# The page runs one script of its own and Chart.js, both from this console; still no inline script.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().nurse_line.timezone)


def _range() -> Tuple[date, date]:
    today = datetime.now(_zone()).date()
    try:
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
        start = (
            date.fromisoformat(request.args["from"])
            if request.args.get("from")
            else end - timedelta(days=DEFAULT_DAYS - 1)
        )
    except ValueError:
        abort(400, "Dates must be written as YYYY-MM-DD.")
    return (start, end) if start <= end else (end, start)


def _report() -> analytics.Report:
    start, end = _range()
    return analytics.report(ReviewStore(current_app.config["STORE"]), start, end, _zone(), get_settings().targets)


@blueprint.route("/analytics")
def page():
    report = _report()
    response = current_app.make_response(
        render_template("analytics.html", report=report, tz=get_settings().nurse_line.timezone)
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@blueprint.route("/analytics.csv")
def csv_export():
    report = _report()
    name = f"analytics-{report.start.isoformat()}-to-{report.end.isoformat()}.csv"
    return Response(
        analytics.to_csv(report), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@blueprint.route("/api/analytics")
def api():
    report = _report()
    return jsonify(
        start=report.start.isoformat(),
        end=report.end.isoformat(),
        generated_at=utcnow().isoformat() + "Z",
        targets={"claim_minutes": report.targets.claim_minutes, "resolve_minutes": report.targets.resolve_minutes},
        totals=report.totals,
        charts=[
            {
                "key": t.key,
                "title": t.title,
                "rows_are": t.label,
                "series": t.series,
                "unit": t.unit,
                "rows": [{"label": label, "values": values} for label, values in t.rows],
            }
            for t in report.tables
        ],
    )
