"""The analytics page's figures: aggregates only, never a patient's words.

From the daily counts the review collector keeps (review_store.AnalyticsDailyRow): conversations and
messages per day, the shares of questions answered outright, asked back and deflected, the topics
asked, answer feedback by topic, red flags by severity. From the handoffs: how many of each kind and
urgency, and the time from request to claim and to resolution (median and 90th percentile) against
the clinic's targets (clinic_settings.yml, nurse_line.targets).

Days are the clinic's own (nurse_line.timezone); a range covers whole days.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, func, select

from clinic.handoff.handoffs import KINDS, URGENCY_RANK
from clinic.handoff.review_store import ReviewStore
from clinic.handoff.schema import HandoffRow
from clinic.settings import NurseLineTargets
from clinic.topics import topic_ids

OUTCOMES = ("answered", "asked_back", "deflected")
SEVERITIES = ("emergency", "crisis", "urgent")
URGENCIES = tuple(sorted(URGENCY_RANK, key=lambda u: -URGENCY_RANK[u]))
MAX_DAYS = 400


@dataclass
class Table:
    """One chart's figures: rows of a label and one value per series."""

    key: str
    title: str
    kind: str  # how the page draws it: line, bar, stacked, hbar, percent
    label: str  # what the rows are (Day, Topic, ...)
    series: List[str]
    rows: Sequence[Tuple[str, Sequence[float]]] = field(default_factory=list)
    unit: str = ""
    note: str = ""

    @property
    def empty(self) -> bool:
        return not any(any(values) for _label, values in self.rows)


@dataclass
class Report:
    start: date
    end: date
    tables: List[Table]
    totals: Dict[str, Any]
    targets: NurseLineTargets


def local_range(start: date, end: date, zone: ZoneInfo) -> Tuple[datetime, datetime]:
    """The UTC (naive) instants that bound the clinic's days start..end."""
    begin = datetime.combine(start, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    finish = (
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    )
    return begin, finish


def _percentiles(minutes: Sequence[float]) -> Dict[str, Optional[float]]:
    if not minutes:
        return {"n": 0, "median": None, "p90": None}
    values = np.asarray(minutes, dtype=float)
    return {"n": int(values.size), "median": float(np.percentile(values, 50)), "p90": float(np.percentile(values, 90))}


def _minutes(session, later, earlier):
    """Minutes between two stored times, computed by the database (no datetime objects per row)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 1440.0
    return func.extract("epoch", later - earlier) / 60.0


def _handoff_figures(review: ReviewStore, begin: datetime, finish: datetime) -> Tuple[Dict, Dict, Dict]:
    by_kind: Dict[str, Dict[str, int]] = {kind: dict.fromkeys(URGENCIES, 0) for kind in KINDS}
    claim: Dict[str, List[float]] = defaultdict(list)
    resolve: Dict[str, List[float]] = defaultdict(list)
    in_range = and_(HandoffRow.created_at >= begin, HandoffRow.created_at < finish)
    with review.store.session() as session:
        for kind, urgency, n in session.execute(
            select(HandoffRow.kind, HandoffRow.urgency, func.count(HandoffRow.id))
            .where(in_range)
            .group_by(HandoffRow.kind, HandoffRow.urgency)
        ):
            by_kind.setdefault(kind, dict.fromkeys(URGENCIES, 0))
            by_kind[kind][urgency] = by_kind[kind].get(urgency, 0) + n
        rows = session.execute(
            select(
                HandoffRow.urgency_rank,
                _minutes(session, HandoffRow.claimed_at, HandoffRow.created_at),
                _minutes(session, HandoffRow.resolved_at, HandoffRow.created_at),
            ).where(in_range)
        ).all()
    for rank, to_claim, to_resolve in rows:
        group = "urgent or worse" if rank else "routine"
        for figures, minutes in ((claim, to_claim), (resolve, to_resolve)):
            if minutes is not None:
                figures["all"].append(float(minutes))
                figures[group].append(float(minutes))
    return by_kind, {k: _percentiles(v) for k, v in claim.items()}, {k: _percentiles(v) for k, v in resolve.items()}


def report(review: ReviewStore, start: date, end: date, zone: ZoneInfo, targets: NurseLineTargets) -> Report:
    if end < start:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    counts: Dict[Tuple[str, str], Dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, key, n in review.daily_counts(start, end):
        counts[(metric, key)][day] += n

    def per_day(metric: str, key: str = "") -> List[int]:
        series = counts.get((metric, key), {})
        return [series.get(day, 0) for day in days]

    def total(metric: str, key: str = "") -> int:
        return sum(counts.get((metric, key), {}).values())

    labels = [day.isoformat() for day in days]
    conversations, messages = per_day("conversations"), per_day("messages")
    activity = Table(
        "activity",
        "Conversations and messages per day",
        "line",
        "Day",
        ["Conversations", "Patient messages"],
        [(label, [c, m]) for label, c, m in zip(labels, conversations, messages)],
    )

    outcome_days = {outcome: per_day("outcome", outcome) for outcome in OUTCOMES}
    share_rows = []
    for index, label in enumerate(labels):
        questions = sum(outcome_days[o][index] for o in OUTCOMES)
        share_rows.append(
            (label, [round(100.0 * outcome_days[o][index] / questions, 1) if questions else 0.0 for o in OUTCOMES])
        )
    shares = Table(
        "outcomes",
        "Questions answered outright, asked back and deflected (share of the day's questions)",
        "percent",
        "Day",
        ["Answered outright", "Asked back", "Deflected"],
        share_rows,
        unit="%",
        note="Deflected: the assistant said it could not answer, or asked back twice and handed over.",
    )

    topics = sorted(((topic, total("topic", topic)) for topic in topic_ids()), key=lambda kv: (-kv[1], kv[0]))
    topic_table = Table(
        "topics", "Topics asked", "hbar", "Topic", ["Questions answered"], [(topic, [n]) for topic, n in topics]
    )

    feedback_rows = []
    for topic in topic_ids():
        yes, no = total("feedback_yes", topic), total("feedback_no", topic)
        if yes or no:
            feedback_rows.append((topic, [yes, no]))
    feedback_rows.sort(key=lambda row: (-sum(row[1]), row[0]))
    feedback = Table(
        "feedback", "Answer feedback by topic", "stacked-hbar", "Topic", ["Helpful", "Not helpful"], feedback_rows
    )

    flags = Table(
        "red_flags",
        "Red flags by severity per day",
        "stacked",
        "Day",
        [s.capitalize() for s in SEVERITIES],
        [(label, [per_day("red_flag", s)[i] for s in SEVERITIES]) for i, label in enumerate(labels)],
    )

    begin, finish = local_range(start, end, zone)
    by_kind, claim, resolve = _handoff_figures(review, begin, finish)
    handoffs = Table(
        "handoffs",
        "Handoffs by kind and urgency",
        "stacked",
        "Kind",
        [u.capitalize() for u in URGENCIES],
        [(kind, [by_kind[kind].get(u, 0) for u in URGENCIES]) for kind in by_kind],
    )
    timing_rows = []
    for name, figures, target in (
        ("Request to claim", claim, targets.claim_minutes),
        ("Request to resolution", resolve, targets.resolve_minutes),
    ):
        overall = figures.get("all") or _percentiles([])
        timing_rows.append(
            (
                name,
                [
                    round(overall["median"], 1) if overall["median"] is not None else 0.0,
                    round(overall["p90"], 1) if overall["p90"] is not None else 0.0,
                    float(target),
                ],
            )
        )
    timing = Table(
        "timing",
        "Nurse line: time from request to claim and to resolution",
        "bar-target",
        "Measure",
        ["Median", "90th percentile", "Target"],
        timing_rows,
        unit="minutes",
        note="Handoffs created in the range; the target is the clinic's (clinic_settings.yml).",
    )

    questions = sum(total("outcome", o) for o in OUTCOMES)
    totals = {
        "conversations": sum(conversations),
        "messages": sum(messages),
        "questions": questions,
        "answered_share": round(100.0 * total("outcome", "answered") / questions, 1) if questions else None,
        "deflected_share": round(100.0 * total("outcome", "deflected") / questions, 1) if questions else None,
        "red_flags": sum(total("red_flag", s) for s in SEVERITIES),
        "handoffs": sum(sum(v.values()) for v in by_kind.values()),
        "claim": claim,
        "resolve": resolve,
    }
    return Report(start, end, [activity, shares, topic_table, feedback, flags, handoffs, timing], totals, targets)


def to_csv(result: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chart", "row", "series", "value"])
    for table in result.tables:
        for label, values in table.rows:
            for series, value in zip(table.series, values):
                writer.writerow([table.key, label, series, value])
    for name, figures in (("claim_minutes", result.totals["claim"]), ("resolve_minutes", result.totals["resolve"])):
        for group, stats in sorted(figures.items()):
            for stat in ("n", "median", "p90"):
                writer.writerow(
                    ["timing_by_urgency", f"{name} {group}", stat, "" if stats[stat] is None else round(stats[stat], 1)]
                )
    return out.getvalue()
