"""Runs last: no patient name, phone number or message used by the tests appears in any log file the
suite's servers, workers and commands wrote."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest

from tests.conftest import ARTIFACTS, ROOT
from tests.handoff_samples import PII_STRINGS, SCRIPT_PROBE
from tests.review_script import build as review_conversations
from tests.review_script import personal_details as review_details
from tests.test_concurrent_handoffs import load_script

LOG_PLACES = [ARTIFACTS, ROOT / "var", ROOT / "logs"]


def log_files() -> List[Path]:
    files = []
    for place in LOG_PLACES:
        if place.is_dir():
            files += [p for p in place.rglob("*.log") if p.is_file()]
    return sorted(set(files) | {p for p in ROOT.glob("*.log") if p.is_file()})


def conversation_details() -> List[str]:
    """The invented names and numbers of the scripted conversations (tests/data/conversations/, in
    English and Spanish)."""
    from clinic.handoff.form_answers import looks_like_name
    from clinic.handoff.patient_input import find_name, find_phone
    from clinic.tools.conversations import SPANISH_SETS, load_callbacks

    details = []
    for conversation in load_callbacks() + load_callbacks(SPANISH_SETS):
        for text in conversation["says"]:
            phone = find_phone(text)
            typed_name = looks_like_name(text) and len(text.split()) >= 2 and all(w[0].isupper() for w in text.split())
            name = find_name(text) or (text if typed_name else None)
            details += [phone, phone[2:]] if phone else []
            details += [name] if name else []
    return details


def patient_details() -> List[str]:
    invented = load_script().invented_patients(100, run_id="probe")
    details = list(PII_STRINGS) + [SCRIPT_PROBE, "Testperson"] + conversation_details()
    details += [p.phone for p in invented] + [p.phone[2:] for p in invented] + [p.phone_typed for p in invented]
    details += [p.reason.split(":", 1)[1].strip() for p in invented[:1]]
    # The names and numbers the review queue's scripted patients type into their questions.
    details += [d for d in review_details(review_conversations()) if " " in d or any(ch.isdigit() for ch in d)]
    return sorted(set(details))


def test_no_patient_details_in_any_log():
    files = log_files()
    if not files:
        pytest.skip("no log files were written (run the whole suite)")
    details = patient_details()
    pattern = re.compile("|".join(re.escape(d) for d in details), re.IGNORECASE)
    leaks = []
    for path in files:
        text = path.read_text(errors="replace")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            leaks.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}")
    assert not leaks, "patient details in logs:\n" + "\n".join(leaks[:30])
