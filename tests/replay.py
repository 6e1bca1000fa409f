"""Replays recorded conversations into rasa_sdk trackers, so actions are tested on real events.

Recorded events are the dicts Rasa sends the action server (see tests/data/trackers/); the
tracker's latest message and slots are derived from them the way Rasa derives them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

TRACKERS = Path(__file__).resolve().parent / "data" / "trackers"


def user_event(text: str, intent: str, entities: Optional[List[dict]] = None, **parse_data: Any) -> Dict[str, Any]:
    data = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []}
    data.update(parse_data)
    return {"event": "user", "text": text, "parse_data": data, "timestamp": 1_700_000_000.0}


def tracker_from_events(events: List[Dict[str, Any]], sender_id: str = "patient-1") -> Tracker:
    slots: Dict[str, Any] = {}
    latest_message: Dict[str, Any] = {}
    active_loop: Dict[str, Any] = {}
    latest_action = None
    for event in events:
        kind = event.get("event")
        if kind == "slot":
            slots[event["name"]] = event.get("value")
        elif kind == "user":
            latest_message = event.get("parse_data") or {"text": event.get("text")}
            for entity in latest_message.get("entities") or []:
                slots.setdefault(entity["entity"], entity.get("value"))
        elif kind == "active_loop":
            active_loop = {"name": event.get("name")} if event.get("name") else {}
        elif kind == "action":
            latest_action = event.get("name")
    return Tracker(
        sender_id=sender_id,
        slots=slots,
        latest_message=latest_message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop=active_loop,
        latest_action_name=latest_action,
    )


def load_recorded(name: str) -> List[Dict[str, Any]]:
    return json.loads((TRACKERS / f"{name}.json").read_text())


def run_action(action, events: List[Dict[str, Any]], domain: Optional[dict] = None):
    """Runs a rasa_sdk action on replayed events; returns (messages, events it returned)."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker_from_events(events), domain or {})
    if hasattr(result, "__await__"):
        import asyncio

        result = asyncio.run(result)
    return dispatcher.messages, result
