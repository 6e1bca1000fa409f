"""What a handoff carries from the conversation that led to it: the transcript, the FAQ topics, the
red flags the NLU pipeline found, and the key that makes one form submission one record.

Works on the event dicts Rasa sends to the action server (rasa_sdk's Tracker.events), so that the
nurse sees exactly what the patient saw and said.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from clinic.handoff.store import ROUTINE
from clinic.severity import Severity, most_severe
from clinic.topics import RETRIEVAL_INTENT

FORM_NAME = "handoff_form"


def _iso(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(float(timestamp), tz=timezone.utc).isoformat()


def current_session(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The events since the conversation's latest session start (Rasa starts a new session after a
    long pause); earlier sessions belong to an older visit."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "session_started":
            start = index
    return events[start:]


def _button_title(payload: str, buttons: Iterable[Dict[str, Any]]) -> Optional[str]:
    for button in buttons or []:
        if button.get("payload") == payload:
            return button.get("title")
    return None


def transcript(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """[{who: patient|assistant, text, at}], with button clicks shown as the button's words."""
    lines: List[Dict[str, Any]] = []
    last_buttons: List[Dict[str, Any]] = []
    for event in current_session(events):
        kind = event.get("event")
        if kind == "user" and event.get("text") is not None:
            text = str(event["text"])
            clicked = _button_title(text, last_buttons)
            line: Dict[str, Any] = {"who": "patient", "text": clicked or text, "at": _iso(event.get("timestamp"))}
            if clicked:
                line["button"] = True
            lines.append(line)
        elif kind == "bot" and event.get("text"):
            last_buttons = (event.get("data") or {}).get("buttons") or []
            lines.append({"who": "assistant", "text": str(event["text"]), "at": _iso(event.get("timestamp"))})
    return lines


def topics(events: List[Dict[str, Any]]) -> List[str]:
    """The FAQ topics the patient asked about, in the order first asked."""
    found: List[str] = []
    for event in current_session(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        full_name = intent.get("full_retrieval_intent_name") or ""
        if intent.get("name") == RETRIEVAL_INTENT and full_name.startswith(RETRIEVAL_INTENT + "/"):
            topic = full_name.split("/", 1)[1]
            if topic not in found:
                found.append(topic)
    return found


def red_flags(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entry per patient message the red-flag detector marked: its severity and phrase."""
    flags: List[Dict[str, Any]] = []
    for event in current_session(events):
        if event.get("event") != "user":
            continue
        entities = (event.get("parse_data") or {}).get("entities") or event.get("entities") or []
        severity = most_severe(str(e.get("value")) for e in entities if e.get("entity") == "red_flag")
        if severity is None:
            continue
        phrases = [str(e.get("value")) for e in entities if e.get("entity") == "red_flag_phrase" and e.get("value")]
        flags.append({"severity": severity.value, "phrase": "; ".join(phrases), "at": _iso(event.get("timestamp"))})
    return flags


def urgency(flags: List[Dict[str, Any]], kind: str) -> str:
    """The most severe flag; a patient who asked for an urgent call is at least urgent."""
    levels = [flag.get("severity") for flag in flags]
    if kind == "urgent":
        levels.append(Severity.URGENT)
    # Crisis and emergency share the top of the queue, but a crisis is named as such so the nurse
    # knows which.
    severity = most_severe(levels)
    return severity.value if severity else ROUTINE


def idempotency_key(sender_id: str, events: List[Dict[str, Any]]) -> str:
    """Same conversation + same activation of the form = same key, however often it is submitted."""
    activation = None
    for event in events:
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            activation = event.get("timestamp")
    if activation is None:
        # No form in the events (a submission outside the form): fall back to the first message of
        # the session, which still keeps one record per visit.
        activation = next((e.get("timestamp") for e in current_session(events) if e.get("event") == "user"), "")
    return hashlib.sha256(f"{sender_id}\x00{activation}".encode()).hexdigest()


def language(slot_value: Optional[str]) -> str:
    """The conversation's language as the record keeps it ("en" or "es"; English by default)."""
    return slot_value if slot_value in ("en", "es") else "en"
