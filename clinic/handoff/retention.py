"""Deletes Rasa's stored conversations (its SQL tracker store) older than the retention period.

Rasa keeps every conversation's events in its tracker store; they hold what patients typed, so the
retention period that applies to handoffs applies to them too. A conversation is deleted whole,
once its newest event is older than the cutoff.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
import yaml

from clinic.settings import PROJECT_ROOT, environment

ENDPOINTS_FILE = PROJECT_ROOT / "endpoints.yml"


def tracker_store_url(endpoints_file: Path = ENDPOINTS_FILE) -> Optional[str]:
    """The SQL tracker store's URL: TRACKER_STORE_URL, else the one endpoints.yml describes."""
    if environment().tracker_store_url:
        return environment().tracker_store_url
    store = (yaml.safe_load(endpoints_file.read_text()) or {}).get("tracker_store") or {}
    if store.get("type") != "SQL":
        return None
    dialect = store.get("dialect", "sqlite")
    if dialect == "sqlite":
        db = Path(store.get("db", "rasa.db"))
        return f"sqlite:///{db if db.is_absolute() else PROJECT_ROOT / db}"
    url = sa.engine.URL.create(
        dialect,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url"),
        port=store.get("port"),
        database=store.get("db"),
    )
    return str(url)


def purge_conversations(url: str, cutoff: datetime) -> int:
    """Deletes conversations whose last event is older than cutoff; returns how many."""
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0
        with engine.begin() as connection:
            stale = sa.text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff")
            senders = [row[0] for row in connection.execute(stale, {"cutoff": cutoff.timestamp()})]
            for sender in senders:
                connection.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        return len(senders)
    finally:
        engine.dispose()
