"""How fast the console's review and analytics pages render with a clinic's worth of data.

    python -m bench.console_pages                                   SQLite (a temporary file)
    python -m bench.console_pages --database postgresql://u:p@host/db   PostgreSQL (its tables are replaced)
    python -m bench.console_pages --collector 2000                  also: the collector's pace on
                                                                     2,000 recorded-style conversations

Seeds the clinic's database with what 100,000 conversations (over the 90 days of the retention
period) leave in it: the daily counts the analytics page reads; review items at 0.4 per
conversation (40,000: questions deflected, asked back, answered unsure, answers marked unhelpful),
70% still open, in 3,000 groups whose sizes fall off like real topics (Zipf); 5,000 handoffs with
claim and resolution times; 10,000 feedback answers. The pages are then requested through Flask's
test client as a signed-in reviewer (the time a request takes in the console, without the network):
each page 3 times to warm up, then 20 times; the median and 95th percentile of the wall time, and
the median CPU time of the console's process (with SQLite that includes the database's work; with
PostgreSQL the server's share is not in it), are printed with the load average: on a shared
machine the wall time follows the load, the CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Dict, List

from sqlalchemy import create_engine, insert, text

from clinic.handoff.review_store import (
    AnalyticsDailyRow,
    FeedbackRow,
    ReviewGroupRow,
    ReviewItemRow,
    ReviewStore,
)
from clinic.handoff.store import URGENCY_RANK, Base, HandoffRow, HandoffStore, utcnow
from clinic.topics import topic_ids

DAYS = 90
TARGET_MS = 300
KINDS = ["deflected"] * 45 + ["asked_back"] * 30 + ["low_confidence"] * 15 + ["unhelpful"] * 10
STATUS = ["open"] * 70 + ["assigned"] * 15 + ["out_of_scope"] * 10 + ["needs_answer"] * 5
QUESTIONS = [
    "does insurance cover trigger point injections",
    "how much does one injection cost",
    "is there parking at the clinic",
    "can I get a note for work",
    "do you do dry needling too",
    "can you refill my pain prescription",
    "are you open on saturdays",
    "can I get my flu shot the same week",
]


def _chunks(rows: List[Dict], size: int = 5000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(url: str, conversations: int = 100_000, seed_value: int = 16) -> Dict[str, int]:
    rng = random.Random(seed_value)
    engine = create_engine(url, future=True)
    Base.metadata.drop_all(engine)
    engine.dispose()
    store = HandoffStore(url)
    store.create_schema()
    store.create_user("bench.reviewer", "correct horse battery staple")
    store.grant_role("bench.reviewer", "reviewer")
    now = utcnow()
    today = now.date()
    topics = topic_ids()

    # Daily counts.
    counts: Counter = Counter()
    per_day = conversations // DAYS
    for d in range(DAYS):
        day = today - timedelta(days=d)
        n = per_day + rng.randint(-per_day // 10, per_day // 10)
        counts[(day, "conversations", "")] += n
        counts[(day, "messages", "")] += 4 * n
        questions = int(2.2 * n)
        counts[(day, "outcome", "answered")] += int(questions * 0.86)
        counts[(day, "outcome", "asked_back")] += int(questions * 0.08)
        counts[(day, "outcome", "deflected")] += int(questions * 0.06)
        for i, topic in enumerate(topics):
            counts[(day, "topic", topic)] += int(questions * 0.86 / (i + 2))
            counts[(day, "feedback_yes", topic)] += rng.randint(0, 12)
            counts[(day, "feedback_no", topic)] += rng.randint(0, 3)
        for severity, share in (("emergency", 0.002), ("crisis", 0.001), ("urgent", 0.01)):
            counts[(day, "red_flag", severity)] += int(n * share)
    with store.session() as session:
        session.execute(
            insert(AnalyticsDailyRow),
            [{"day": k[0], "metric": k[1], "key": k[2], "count": v} for k, v in counts.items()],
        )

    # Groups and review items.
    n_groups, n_items = 3000, int(conversations * 0.4)
    weights = [1 / (g + 1) ** 1.1 for g in range(n_groups)]
    assignment = rng.choices(range(n_groups), weights=weights, k=n_items)
    centroid = {"i": sorted(rng.sample(range(2**21), 400)), "v": [round(rng.random(), 5) for _ in range(400)]}
    open_counts: Counter = Counter()
    members = Counter(assignment)
    items = []
    for index, group in enumerate(assignment):
        status = rng.choice(STATUS)
        at = now - timedelta(minutes=rng.randint(0, DAYS * 24 * 60))
        open_counts[group] += status == "open"
        items.append(
            {
                "source": f"bench:{index}",
                "conversation_key": f"{rng.getrandbits(128):032x}",
                "at": at,
                "kind": rng.choice(KINDS),
                "text": f"{QUESTIONS[group % len(QUESTIONS)]} ({group}-{index})",
                "guessed_topic": rng.choice(topics),
                "topic_confidence": rng.random(),
                "intent": "faq",
                "intent_confidence": rng.random(),
                "group_id": group + 1,
                "status": status,
                "decided_topic": rng.choice(topics) if status == "assigned" else None,
                "decided_by": None if status == "open" else "bench.reviewer",
                "decided_at": None if status == "open" else at,
            }
        )
    with store.session() as session:
        session.execute(
            insert(ReviewGroupRow),
            [
                {
                    "id": g + 1,
                    "created_at": now,
                    "label": QUESTIONS[g % len(QUESTIONS)],
                    "centroid": centroid,
                    "members": members[g],
                    "open_count": open_counts[g],
                    "vectoriser": "bench",
                }
                for g in range(n_groups)
            ],
        )
    for chunk in _chunks(items):
        with store.session() as session:
            session.execute(insert(ReviewItemRow), chunk)

    # Handoffs and feedback.
    handoffs = []
    kinds, urgencies = ["question", "scheduling", "didnt_help", "urgent"], ["routine"] * 8 + ["urgent", "emergency"]
    transcript = [{"who": "patient", "text": "a question about the injection", "at": None}] * 8
    for index in range(conversations // 20):
        created = now - timedelta(minutes=rng.randint(0, DAYS * 24 * 60))
        claimed = created + timedelta(minutes=rng.expovariate(1 / 25))
        resolved = claimed + timedelta(minutes=rng.expovariate(1 / 120))
        is_open = created > now - timedelta(hours=6)
        urgency = rng.choice(urgencies)
        handoffs.append(
            {
                "reference": f"TPI-{index:05d}"[:16],
                "idempotency_key": f"bench-{index}",
                "conversation_id": f"bench-{index}",
                "kind": rng.choice(kinds),
                "urgency": urgency,
                "urgency_rank": URGENCY_RANK[urgency],
                "status": "new" if is_open else "resolved",
                "patient_name": "Bench Patient",
                "callback_phone": "+12125550100",
                "callback_time": "any",
                "reason": "bench",
                "consent": True,
                "topics": [],
                "red_flags": [],
                "transcript": transcript,
                "created_at": created,
                "updated_at": created,
                "claimed_at": None if is_open else claimed,
                "claimed_by": None if is_open else "nurse",
                "resolved_at": None if is_open else resolved,
                "resolved_by": None if is_open else "nurse",
                "outcome": None if is_open else "called_back",
            }
        )
    for chunk in _chunks(handoffs):
        with store.session() as session:
            session.execute(insert(HandoffRow), chunk)
    feedback = [
        {
            "source": f"bench-fb:{i}",
            "conversation_key": f"{i:032x}",
            "at": now - timedelta(minutes=rng.randint(0, DAYS * 1440)),
            "topic": rng.choice(topics),
            "helpful": rng.random() < 0.8,
        }
        for i in range(conversations // 10)
    ]
    for chunk in _chunks(feedback):
        with store.session() as session:
            session.execute(insert(FeedbackRow), chunk)
    if url.startswith("postgresql"):
        with store.session() as session:
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('review_groups', 'id'), {n_groups + 1})"))
        engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
        engine.dispose()
    store.dispose()
    return {
        "conversations": conversations,
        "review_items": len(items),
        "open_items": sum(open_counts.values()),
        "groups": n_groups,
        "handoffs": len(handoffs),
        "feedback": len(feedback),
    }


def time_pages(url: str, rounds: int = 20) -> Dict[str, Dict[str, float]]:
    import re

    from clinic.console import create_app

    store = HandoffStore(url)
    app = create_app(store)
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found, "no sign-in form"
    token = found.group(1)
    signed = client.post(
        "/login", data={"username": "bench.reviewer", "password": "correct horse battery staple", "csrf_token": token}
    )
    assert signed.status_code == 302, signed.status_code
    largest = ReviewStore(store).open_groups(limit=1)[0][0]["id"]
    today = utcnow().date()
    pages = {
        "review queue (top 20 groups)": "/review",
        "review queue, page 10": "/review?page=10",
        "largest group (500 questions)": f"/review/groups/{largest}",
        "needs a new answer": "/review/new-answers",
        "analytics, last 30 days": "/analytics",
        "analytics, 90 days": f"/analytics?from={(today - timedelta(days=89)).isoformat()}&to={today.isoformat()}",
        "analytics CSV, 90 days": f"/analytics.csv?from={(today - timedelta(days=89)).isoformat()}&to={today.isoformat()}",
    }
    results = {}
    for name, path in pages.items():
        for _ in range(3):
            assert client.get(path).status_code == 200, path
        times, cpu = [], []
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200
        times.sort()
        results[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "cpu_median_ms": round(statistics.median(cpu), 1),
            "bytes": len(response.data),
        }
    store.dispose()
    return results


def collector_pace(conversations: int, url: str) -> Dict[str, float]:
    """The collector reading `conversations` copies of the recorded test conversation (16 patient
    messages, 4 review items each) from a SQLite tracker store into the clinic database."""
    from clinic.handoff.collector import Collector
    from tests.review_samples import TrackerDb, recorded_events

    folder = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    tracker = TrackerDb(folder / "trackers.db")
    rows = recorded_events()
    for index in range(conversations):
        tracker.add(f"bench-{index}", rows, shift=index * 60.0)
    engine = create_engine(url, future=True)
    Base.metadata.drop_all(engine)
    engine.dispose()
    store = HandoffStore(url)
    collector = Collector(ReviewStore(store), tracker.url)
    started = time.perf_counter()
    result = collector.catch_up()
    seconds = time.perf_counter() - started
    collector.dispose()
    store.dispose()
    return {
        "conversations": conversations,
        "events": result.events,
        "messages": result.messages,
        "review_items": result.items,
        "seconds": round(seconds, 1),
        "messages_per_second": round(result.messages / seconds, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file); its tables are replaced"
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--collector", type=int, default=0, help="also time the collector on this many conversations")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='bench-console-')}/clinic.db"
    backend = url.split(":", 1)[0]
    started = time.perf_counter()
    seeded = seed(url, args.conversations)
    print(f"{backend}: seeded {seeded} in {time.perf_counter() - started:.0f} s")
    results = time_pages(url)
    width = max(len(name) for name in results)
    load = os.getloadavg()[0]
    print(
        f"{'page'.ljust(width)}  median    p95  console CPU (target {TARGET_MS} ms; load average {load:.1f} on {os.cpu_count()} cores)"
    )
    for name, figures in results.items():
        flag = "" if figures["median_ms"] < TARGET_MS else "  over"
        print(
            f"{name.ljust(width)}  {figures['median_ms']:6.1f} {figures['p95_ms']:6.1f} {figures['cpu_median_ms']:8.1f} ms{flag}"
        )
    out = {
        "backend": backend,
        "seeded": seeded,
        "pages": results,
        "load_average": load,
        "at": datetime.now().isoformat(timespec="seconds"),
        "date": date.today().isoformat(),
    }
    if args.collector:
        out["collector"] = collector_pace(args.collector, url)
        print(f"collector: {out['collector']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
