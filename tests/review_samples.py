"""Shared material for the review queue's tests: a recorded conversation, a tracker store to put it
in, and stores on the backends the handoff tests use."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Dict, Iterable, List

from clinic.handoff.turns import StoredEvent

RECORDING = Path(__file__).resolve().parent / "data" / "trackers" / "review_conversation.json"
# What the recorded patient typed that must never be stored for review.
RECORDED_NAME = "Marisol Quintanilla"
RECORDED_PHONE = "(312) 555-0147"


def recorded_events() -> List[Dict]:
    """A real conversation's rows from Rasa's SQL tracker store (recorded with this repository's
    bot; long rankings trimmed): greeting, an answer, a deflection, an ask-back, a give-up, an
    urgent red flag, the handoff form with a name and a phone number, a question after it that
    names the patient, and a "helpful" vote on the answer."""
    return json.loads(RECORDING.read_text(encoding="utf-8"))


def stored_events(rows: Iterable[Dict]) -> List[StoredEvent]:
    return [StoredEvent(row["id"], row["type_name"], row["timestamp"], row["data"]) for row in rows]


class TrackerDb:
    """A SQLite file with Rasa's ``events`` table, filled the way SQLTrackerStore fills it."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)")

    def add(self, sender: str, rows: Iterable[Dict], shift: float = 0.0) -> List[int]:
        ids = []
        with sqlite3.connect(self.path) as db:
            for row in rows:
                data = json.loads(json.dumps(row["data"]))
                timestamp = row["timestamp"] + shift
                data["timestamp"] = timestamp
                feedback = (data.get("data") or {}).get("tpi_feedback") if row["type_name"] == "agent" else None
                if feedback and "answer_at" in feedback:
                    feedback["answer_at"] += shift
                cursor = db.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        sender,
                        row["type_name"],
                        timestamp,
                        ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
                        data.get("name"),
                        json.dumps(data),
                    ),
                )
                ids.append(cursor.lastrowid)
        return ids
