"""How handoff values read on the console's pages and in its JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo

from clinic.handoff.store import LANGUAGES, OUTCOMES, ROUTINE, utcnow
from clinic.settings import get_settings
from clinic.severity import Severity

KIND_LABELS = {
    "scheduling": "Scheduling",
    "question": "Question",
    "didnt_help": "Treatment didn't help",
    "urgent": "Urgent symptom",
}
# Words as well as colours: urgency must not depend on telling colours apart.
URGENCY_LABELS = {**{severity.value: severity.value.upper() for severity in Severity}, ROUTINE: "Routine"}


def age(created_at: Optional[datetime], now: Optional[datetime] = None) -> str:
    if created_at is None:
        return ""
    minutes = int(((now or utcnow()) - created_at).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def local_time(value: Optional[Any]) -> str:
    """A stored UTC time (naive datetime or ISO text) in the clinic's own time zone."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    zone = ZoneInfo(get_settings().nurse_line.timezone)
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")


def iso_utc(value: Optional[datetime]) -> Optional[str]:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


def handoff_json(handoff: Dict[str, Any], full: bool = True) -> Dict[str, Any]:
    data = dict(handoff)
    for key in ("created_at", "updated_at", "claimed_at", "resolved_at"):
        data[key] = iso_utc(data.get(key))
    data["age_seconds"] = int((utcnow() - handoff["created_at"]).total_seconds())
    data.pop("conversation_id", None)
    if not full:
        data.pop("transcript", None)
    return data


def register_filters(app) -> None:
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals.update(
        KIND_LABELS=KIND_LABELS, URGENCY_LABELS=URGENCY_LABELS, OUTCOMES=OUTCOMES, LANGUAGE_LABELS=LANGUAGES
    )
