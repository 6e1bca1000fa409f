"""The context of a conversation, read from its events: the last topic answered, the body part and
medication last named, what the assistant said in its previous reply, the handoff reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

FAQ_RESPONSE_PREFIX = "utter_faq/"
LAST_TOPIC_SLOT = "last_topic"

Event = Dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What a follow-up can lean on, as it stood before the patient's latest message."""

    last_topic: Optional[str] = None
    # Patient messages since the last topic was answered, the latest included (1: the message right after).
    turns_since_topic: int = 0
    topics: List[str] = field(default_factory=list)  # answered, the latest first
    body_part: Optional[str] = None
    medication: Optional[str] = None
    previous_responses: List[str] = field(default_factory=list)  # the reply before the latest message
    previous_actions: List[str] = field(default_factory=list)
    previous_texts: List[str] = field(default_factory=list)
    reference: Optional[str] = None

    def recent_topic(self, within: int) -> Optional[str]:
        return self.last_topic if self.last_topic and self.turns_since_topic <= within else None


def response_name(event: Event) -> str:
    return str((event.get("metadata") or {}).get("utter_action") or "")


def topic_of_response(name: str) -> Optional[str]:
    return name[len(FAQ_RESPONSE_PREFIX) :] if name.startswith(FAQ_RESPONSE_PREFIX) else None


def _latest_user_index(events: List[Event]) -> int:
    return max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)


def current_turn(events: List[Event]) -> List[Event]:
    """The events since the patient's latest message."""
    return events[_latest_user_index(events) + 1 :]


def replies_this_turn(events: List[Event]) -> List[str]:
    """The responses the assistant has given since the patient's latest message."""
    return [response_name(e) for e in current_turn(events) if e.get("event") == "bot"]


def context_from_events(events: List[Event]) -> Context:
    latest = _latest_user_index(events)
    before = events[:latest] if latest >= 0 else list(events)
    previous_user = max((i for i, e in enumerate(before) if e.get("event") == "user"), default=-1)
    previous_turn = before[previous_user + 1 :]

    topics: List[str] = []
    last_topic: Optional[str] = None
    turns_since = 0
    users_seen = 1 if latest >= 0 else 0
    body_part = medication = reference = None
    for event in reversed(before):
        kind = event.get("event")
        if kind == "user":
            if last_topic is None:
                users_seen += 1
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") == "body_part" and body_part is None:
                    body_part = str(entity.get("value"))
                elif entity.get("entity") == "medication" and medication is None:
                    medication = str(entity.get("value"))
        elif kind == "session_started":
            break
        topic = None
        if kind == "bot":
            topic = topic_of_response(response_name(event))
        elif kind == "slot" and event.get("name") == LAST_TOPIC_SLOT and event.get("value"):
            topic = str(event["value"])
        elif kind == "slot" and event.get("name") == "handoff_reference" and reference is None:
            reference = event.get("value") or ""
        if topic:
            if last_topic is None:
                last_topic, turns_since = topic, users_seen
            if topic not in topics:
                topics.append(topic)
    return Context(
        last_topic=last_topic,
        turns_since_topic=turns_since,
        topics=topics,
        body_part=body_part,
        medication=medication,
        previous_responses=[response_name(e) for e in previous_turn if e.get("event") == "bot"],
        previous_actions=[
            str(e.get("name"))
            for e in previous_turn
            if e.get("event") == "action" and e.get("name") not in (None, "action_listen")
        ],
        previous_texts=[str(e.get("text") or "") for e in previous_turn if e.get("event") == "bot"],
        reference=reference or None,
    )
