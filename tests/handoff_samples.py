"""Shared test material for the handoff tests: sample handoffs and the database backends to run on.

The names and phone numbers here are the ones tests/test_zz_no_pii_in_logs.py looks for in the
logs; every test that puts patient details into the product takes them from here.
"""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine

from clinic.handoff.store import Base, HandoffStore, NewHandoff
from clinic.settings import get_settings

# 555-01xx numbers are reserved for fiction; phonenumbers accepts them with a real area code.
PATIENT_NAMES = ["Marisol Quintanilla", "Thaddeus Okonkwo-Reyes", "Ingrid Vasquez-Holm", "Perpetua Lindqvist"]
PATIENT_PHONES = ["+12125550147", "+16175550123", "+14155550132", "+12025550175"]
PATIENT_PHONES_TYPED = ["(212) 555-0147", "617-555-0123", "415 555 0132", "202.555.0175"]
PATIENT_REASONS = [
    "my shoulder knot came back after the shot",
    "need to book my second injection",
    "numbness near the injection spot since yesterday",
    "question about heat after the injection",
]
SCRIPT_PROBE = "<script>alert('pwned')</script>"
# What the log check searches for: anything a patient typed that is specific enough to find.
PII_STRINGS = (
    PATIENT_NAMES
    + PATIENT_PHONES
    + PATIENT_PHONES_TYPED
    + PATIENT_REASONS
    + [
        "2125550147",
        "6175550123",
        "4155550132",
        "2025550175",
    ]
)


def sample_handoff(index: int = 0, **overrides) -> NewHandoff:
    values = dict(
        idempotency_key=uuid.uuid4().hex,
        conversation_id=f"test-{uuid.uuid4().hex[:8]}",
        kind="question",
        urgency="routine",
        patient_name=PATIENT_NAMES[index % len(PATIENT_NAMES)],
        callback_phone=PATIENT_PHONES[index % len(PATIENT_PHONES)],
        callback_time="weekday mornings",
        reason=PATIENT_REASONS[index % len(PATIENT_REASONS)],
        consent=True,
        topics=["not_helping"],
        red_flags=[],
        transcript=[
            {"who": "patient", "text": "i want to talk to a nurse", "at": "2025-01-06T15:00:00+00:00"},
            {
                "who": "assistant",
                "text": "I can ask the nurse line to call you back.",
                "at": "2025-01-06T15:00:01+00:00",
            },
        ],
    )
    values.update(overrides)
    return NewHandoff(**values)


def _backends():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="TEST_POSTGRES_URL is not set"),
    )


BACKENDS = list(_backends())


def database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'handoffs.db'}"
    return os.environ["TEST_POSTGRES_URL"]


def fresh_store(url: str) -> HandoffStore:
    """A store on an empty schema (PostgreSQL databases are shared between tests, so wiped first)."""
    if not url.startswith("sqlite"):
        engine = create_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    store = HandoffStore(url)
    store.create_schema()
    return store


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Iterator[HandoffStore]:
    store = fresh_store(database_url(request.param, tmp_path))
    try:
        yield store
    finally:
        store.dispose()


def clinic_today() -> date:
    """Today in the clinic's time zone: the analytics count the clinic's own days, so a test run
    after midnight UTC and before midnight in the clinic must expect the clinic's date."""
    return datetime.now(ZoneInfo(get_settings().nurse_line.timezone)).date()
