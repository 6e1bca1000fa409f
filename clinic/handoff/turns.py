"""What the assistant did with each patient message, read back from Rasa's stored events.

Rasa's SQL tracker store keeps every conversation as rows of events (``events``: id, sender_id,
type_name, timestamp, data as JSON). A patient message is a ``user`` event; the actions and bot
messages up to the next ``action_listen`` are the assistant's reply to it. From those this module
tells, per message, whether the assistant answered it (and with which topic, how sure), asked back,
deflected it, or met a red flag; and it finds the answer feedback the widget records (an ``agent``
event, see clinic/server/feedback_channel.py) and the names the patient gave the handoff form.

It reads events only: no database, no patient text leaves it except as returned values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set

from clinic.responses import RED_FLAG_RESPONSES, SERVICE_TROUBLE
from clinic.topics import RETRIEVAL_INTENT, TOPIC_PAYLOAD, topic_ranking

FORM_NAME = "handoff_form"
NAME_SLOT = "patient_name"
FEEDBACK_KEY = "tpi_feedback"
SEVERITIES = ("crisis", "emergency", "urgent")

# Outcomes of a patient message.
ANSWERED, ASKED_BACK, DEFLECTED = "answered", "asked_back", "deflected"
RED_FLAG, FORM, BUTTON, CHITCHAT, HANDOFF, ERROR, OTHER = (
    "red_flag",
    "form",
    "button",
    "chitchat",
    "handoff",
    "error",
    "other",
)
# The outcomes that count as a question the assistant had to answer (the analytics page's shares).
QUESTION_OUTCOMES = (ANSWERED, ASKED_BACK, DEFLECTED)
# What the review queue collects.
LOW_CONFIDENCE, UNHELPFUL = "low_confidence", "unhelpful"

CLARIFY_ACTION = "action_clarify_topic"
GIVE_UP_RESPONSE = "utter_clarify_give_up"
DEFLECTING_ACTIONS = {"utter_out_of_scope", "action_default_fallback", "utter_default"}
HANDOFF_ACTIONS = {"action_offer_handoff", FORM_NAME, "action_submit_handoff"}
CHITCHAT_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"}
NON_ACTIONS = {"action_listen", "action_session_start", "action_unlikely_intent"}


@dataclass(frozen=True)
class StoredEvent:
    id: int
    type_name: str
    timestamp: float
    data: Dict[str, Any]


@dataclass
class Turn:
    """One patient message and what the assistant did with it."""

    event_id: int
    at: float
    text: str
    outcome: str
    topic: Optional[str] = None  # the topic answered (outcome answered)
    guessed_topic: Optional[str] = None
    topic_confidence: float = 0.0
    intent: Optional[str] = None
    intent_confidence: float = 0.0
    red_flag: Optional[str] = None  # the most severe red flag found in it
    review: Optional[str] = None  # deflected / asked_back / low_confidence when it needs review
    bot_times: List[float] = field(default_factory=list)


@dataclass(frozen=True)
class Feedback:
    event_id: int
    at: float
    helpful: bool
    topic: Optional[str]
    question: Optional[Turn]


@dataclass
class Conversation:
    turns: List[Turn]
    feedback: List[Feedback]
    names: Set[str]
    first_message_id: Optional[int]
    name_event_ids: List[int] = field(default_factory=list)


def _intent(parse_data: Dict[str, Any]) -> tuple:
    """The likeliest real intent and its confidence (nlu_fallback stands for "none was sure")."""
    for entry in [parse_data.get("intent") or {}] + list(parse_data.get("intent_ranking") or []):
        name = entry.get("name")
        if name and name != "nlu_fallback":
            return name, float(entry.get("confidence") or 0.0)
    return None, 0.0


def _severity(parse_data: Dict[str, Any]) -> Optional[str]:
    found = {str(e.get("value")) for e in parse_data.get("entities") or [] if e.get("entity") == "red_flag"}
    return next((s for s in SEVERITIES if s in found), None)


def _outcome(actions: Sequence[str], responses: Sequence[str], intent_name: Optional[str]) -> str:
    red_flag_replies = set(RED_FLAG_RESPONSES.values())
    if any(a in red_flag_replies for a in actions):
        return RED_FLAG
    if any(a == "utter_faq" or a.startswith("utter_faq/") for a in actions):
        return ANSWERED
    if CLARIFY_ACTION in actions:
        return DEFLECTED if GIVE_UP_RESPONSE in responses else ASKED_BACK
    if any(a in DEFLECTING_ACTIONS for a in actions):
        return DEFLECTED
    if SERVICE_TROUBLE in actions:
        return ERROR
    if any(a in HANDOFF_ACTIONS for a in actions):
        return HANDOFF
    if intent_name in CHITCHAT_INTENTS:
        return CHITCHAT
    return OTHER


def read_conversation(events: Sequence[StoredEvent], low_confidence_below: float = 0.8) -> Conversation:
    """Every patient message of one conversation (its events in id order) with its outcome."""
    turns: List[Turn] = []
    feedback: List[Feedback] = []
    names: Set[str] = set()
    name_event_ids: List[int] = []
    active_loop: Optional[str] = None
    current: Optional[Turn] = None
    current_parse: Dict[str, Any] = {}
    actions: List[str] = []
    responses: List[str] = []
    first_message_id: Optional[int] = None

    def close() -> None:
        if current is None:
            return
        if current.outcome == OTHER:
            current.outcome = _outcome(actions, responses, current.intent)
        _finish(current, current_parse, responses, low_confidence_below)

    for event in events:
        data = event.data
        kind = event.type_name
        if kind == "user":
            close()
            actions, responses = [], []
            current_parse = data.get("parse_data") or {}
            text = str(data.get("text") or "")
            intent_name, intent_confidence = _intent(current_parse)
            current = Turn(
                event.id,
                event.timestamp,
                text,
                OTHER,
                intent=intent_name,
                intent_confidence=intent_confidence,
                red_flag=_severity(current_parse),
            )
            if active_loop == FORM_NAME:
                current.outcome = FORM
            elif text.startswith("/"):
                current.outcome = BUTTON
            turns.append(current)
            if first_message_id is None:
                first_message_id = event.id
        elif kind == "action":
            name = str(data.get("name") or "")
            if name and name not in NON_ACTIONS:
                actions.append(name)
        elif kind == "bot":
            utter = str((data.get("metadata") or {}).get("utter_action") or "")
            if utter:
                responses.append(utter)
                if utter.startswith("utter_faq/"):
                    actions.append(utter)
            if current is not None:
                current.bot_times.append(float(event.timestamp or 0.0))
        elif kind == "active_loop":
            active_loop = data.get("name")
        elif kind == "slot" and data.get("name") == NAME_SLOT and data.get("value"):
            names.add(str(data["value"]))
            name_event_ids.append(event.id)
        elif kind == "session_started":
            active_loop = None
        elif (
            kind == "agent" and isinstance((data.get("data") or {}), dict) and FEEDBACK_KEY in (data.get("data") or {})
        ):
            close()
            feedback.append(_feedback(event, data["data"][FEEDBACK_KEY], turns))
            # The turn was finished by the feedback's arrival; later bot events belong to no one.
            current = None
    close()
    return Conversation(turns, feedback, names, first_message_id, name_event_ids)


def _finish(turn: Turn, parse_data: Dict[str, Any], responses: Sequence[str], low_below: float) -> None:
    ranking = topic_ranking(parse_data)
    if ranking:
        turn.guessed_topic, turn.topic_confidence = ranking[0]["topic"], ranking[0]["confidence"]
    answered = [r.split("/", 1)[1] for r in responses if r.startswith(f"utter_{RETRIEVAL_INTENT}/")]
    payload = TOPIC_PAYLOAD.match(turn.text)
    if payload:
        # A topic button (offered after an answer or when asked back): the patient chose the topic.
        # It counts among the topics asked, not as a question of its own, and needs no review.
        turn.topic = answered[0] if answered else payload.group(1)
        turn.outcome = BUTTON if turn.outcome in (ANSWERED, OTHER) else turn.outcome
        return
    if turn.outcome == ANSWERED:
        turn.topic = answered[0] if answered else turn.guessed_topic
        if turn.topic == turn.guessed_topic and (
            turn.topic_confidence < low_below or turn.intent_confidence < low_below
        ):
            turn.review = LOW_CONFIDENCE
    elif turn.outcome in (ASKED_BACK, DEFLECTED):
        turn.review = turn.outcome


def _feedback(event: StoredEvent, raw: Any, turns: Sequence[Turn]) -> Feedback:
    raw = raw if isinstance(raw, dict) else {}
    answer_at = raw.get("answer_at")
    question = None
    if isinstance(answer_at, (int, float)):
        for turn in reversed(turns):
            if any(abs(t - float(answer_at)) < 1e-6 for t in turn.bot_times):
                question = turn
                break
    topic = raw.get("topic") if isinstance(raw.get("topic"), str) else None
    if topic is None and question is not None:
        topic = question.topic
    return Feedback(event.id, event.timestamp, bool(raw.get("helpful")), topic, question)
