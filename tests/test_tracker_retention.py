"""Rasa's stored conversations are deleted after the retention period, like handoffs."""

import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from clinic.handoff.retention import purge_conversations, tracker_store_url


def make_events_table(url, rows):
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL, data TEXT)"
            )
        )
        for sender, ts in rows:
            c.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": ts},
            )
    return engine


def test_old_conversations_go_whole_and_recent_ones_stay(tmp_path):
    url = f"sqlite:///{tmp_path / 'trackers.db'}"
    now = time.time()
    old, recent = now - 100 * 86400, now - 86400
    engine = make_events_table(
        url, [("old", old), ("old", old + 60), ("mixed", old), ("mixed", recent), ("new", recent)]
    )
    cutoff = datetime.now(timezone.utc) - timedelta(days=90)
    assert purge_conversations(url, cutoff) == 1
    with engine.connect() as c:
        senders = sorted(r[0] for r in c.execute(sa.text("SELECT DISTINCT sender_id FROM events")))
    assert senders == ["mixed", "new"]


def test_no_tracker_table_is_nothing_to_do(tmp_path):
    assert purge_conversations(f"sqlite:///{tmp_path / 'empty.db'}", datetime.now(timezone.utc)) == 0


def test_the_url_comes_from_endpoints(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.internal\n  port: 5432\n  db: tpi\n  username: rasa\n  password: secret\n"
    )
    assert tracker_store_url(endpoints).startswith("postgresql://rasa:")
    assert tracker_store_url(endpoints).endswith("@db.internal:5432/tpi")
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: var/trackers.db\n")
    assert tracker_store_url(endpoints).endswith("/var/trackers.db")
