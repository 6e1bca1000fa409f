"""The clinic's settings (clinic_settings.yml), with environment overrides for deployments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

import yaml

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
# The vocabularies and rules that clinicians review, read by both halves of the package.
DATA_DIR = PACKAGE_ROOT / "data"
DEFAULT_SETTINGS_FILE = PROJECT_ROOT / "clinic_settings.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class NurseLine:
    phone: str
    hours_text: str
    timezone: str
    # The hours in Spanish, for the Spanish replies (the English text when the clinic gives none).
    hours_text_es: str = ""
    # weekday index (Monday=0) -> (opens, closes)
    open_hours: Dict[int, Tuple[time, time]] = field(default_factory=dict)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        window = self.open_hours.get(local.weekday())
        return window is not None and window[0] <= local.time() < window[1]

    def next_opening(self, now: datetime) -> Optional[datetime]:
        """When the line next opens, in its own time zone; None if it never does."""
        local = now.astimezone(ZoneInfo(self.timezone))
        for day in range(8):
            date = (local + timedelta(days=day)).date()
            window = self.open_hours.get(date.weekday())
            if not window:
                continue
            opening = datetime.combine(date, window[0], tzinfo=local.tzinfo)
            if opening > local:
                return opening
        return None


@dataclass(frozen=True)
class NurseLineTargets:
    """How fast the clinic means the nurse line to claim and to resolve a handoff (the analytics
    page shows the measured times against these)."""

    claim_minutes: float = 30.0
    resolve_minutes: float = 240.0


@dataclass(frozen=True)
class ReviewSettings:
    """What the review queue collects besides deflected and asked-back messages."""

    # An answer whose topic (or intent) confidence is below this is queued for review too.
    low_confidence_below: float = 0.8


@dataclass(frozen=True)
class Settings:
    clinic_name: str
    nurse_line: NurseLine
    emergency_number: str
    crisis_line: str
    site_origins: List[str]
    database_url: str
    webhook_url: str
    retention_days: int
    targets: NurseLineTargets = field(default_factory=NurseLineTargets)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    # How to reach the crisis line in Spanish, in Spanish (the Spanish crisis replies say it).
    crisis_line_spanish: str = ""

    def response_slots(self) -> Dict[str, str]:
        """The values the bot's responses show, kept in domain.yml's slots."""
        return {
            "clinic_name": self.clinic_name,
            "nurse_line_phone": self.nurse_line.phone,
            "nurse_line_hours": self.nurse_line.hours_text,
            "nurse_line_hours_es": self.nurse_line.hours_text_es or self.nurse_line.hours_text,
            "emergency_number": self.emergency_number,
            "crisis_line": self.crisis_line,
            "crisis_line_spanish": self.crisis_line_spanish or self.crisis_line,
        }


def _parse_window(text: str) -> Tuple[time, time]:
    opens, closes = (part.strip() for part in text.split("-"))
    return time.fromisoformat(opens), time.fromisoformat(closes)


def _resolve_sqlite_path(url: str) -> str:
    # A relative SQLite path is taken from the project root, not from wherever a process starts.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(PROJECT_ROOT / url[len(prefix) :])
    return url


def load_settings(path: Optional[Path] = None) -> Settings:
    path = Path(path or os.environ.get("CLINIC_SETTINGS_FILE") or DEFAULT_SETTINGS_FILE)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    line = raw.get("nurse_line") or {}
    targets = line.get("targets") or {}
    review = raw.get("review") or {}
    hours = {WEEKDAYS.index(day): _parse_window(window) for day, window in (line.get("open_hours") or {}).items()}
    return Settings(
        clinic_name=str(raw.get("clinic_name", "the clinic")),
        nurse_line=NurseLine(
            phone=str(line.get("phone", "")),
            hours_text=str(line.get("hours_text", "")),
            timezone=str(line.get("timezone", "UTC")),
            open_hours=hours,
            hours_text_es=str(line.get("hours_text_es", "")),
        ),
        emergency_number=str(raw.get("emergency_number") or "911"),
        crisis_line=str(raw.get("crisis_line") or "988"),
        site_origins=[str(o) for o in raw.get("site_origins") or []],
        database_url=_resolve_sqlite_path(
            os.environ.get("CLINIC_DATABASE_URL") or str(raw.get("database_url") or "sqlite:///var/handoffs.db")
        ),
        webhook_url=os.environ.get("CLINIC_WEBHOOK_URL", str(raw.get("webhook_url") or "")),
        retention_days=int(raw.get("retention_days", 90)),
        targets=NurseLineTargets(
            claim_minutes=float(targets.get("claim_minutes", NurseLineTargets.claim_minutes)),
            resolve_minutes=float(targets.get("resolve_minutes", NurseLineTargets.resolve_minutes)),
        ),
        review=ReviewSettings(
            low_confidence_below=float(review.get("low_confidence_below", ReviewSettings.low_confidence_below)),
        ),
        crisis_line_spanish=str(raw.get("crisis_line_spanish") or ""),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


@dataclass(frozen=True)
class Environment:
    """Deployment values that only the environment gives (secrets, where other services are).

    Read on each call, not cached: tests and the console's command line set them per process.
    """

    console_url: Optional[str]
    webhook_secret: Optional[str]
    tracker_store_url: Optional[str]
    console_session_idle_minutes: float
    console_session_max_hours: float
    console_secure_cookies: bool


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def environment() -> Environment:
    return Environment(
        console_url=os.environ.get("CLINIC_CONSOLE_URL") or None,
        webhook_secret=os.environ.get("CLINIC_WEBHOOK_SECRET") or None,
        tracker_store_url=os.environ.get("TRACKER_STORE_URL") or None,
        console_session_idle_minutes=_env_number("CLINIC_CONSOLE_SESSION_IDLE_MINUTES", 30),
        console_session_max_hours=_env_number("CLINIC_CONSOLE_SESSION_MAX_HOURS", 12),
        console_secure_cookies=os.environ.get("CLINIC_CONSOLE_SECURE_COOKIES") == "1",
    )
