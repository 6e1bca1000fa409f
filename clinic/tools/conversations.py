"""Scores whole conversations played against a running assistant (issue 14): call-back requests as
patients make them, and two-turn follow-up exchanges.

The sets are in tests/data/conversations/ (see their headers), the Spanish ones in its es/ folder.
Each conversation is played over the REST channel under a sender id of its own, then read back from
Rasa's tracker (`GET /conversations/<id>/tracker`), so that every reply is known by its response
name as well as its text. The figures:

- call-backs: a conversation meant to end in a call back counts when the reply to its last message
  gives the reference, after at most (questions + 1) messages from the request on, where the
  questions are the ones the assistant asked (never more than the script allows), with no "did you
  mean" in between and no reply the same as the one before; one meant to stop counts when its last
  message is answered with "nothing was sent" and no reference was ever given;
- follow-ups: an exchange counts when the reply to the follow-up is about the expected topic (or
  gives the nurse line's number) without asking back.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from clinic.settings import PROJECT_ROOT

SETS = PROJECT_ROOT / "tests" / "data" / "conversations"
SPANISH_SETS = SETS / "es"
REFERENCE = re.compile(r"\bTPI-[0-9A-Z]{5}\b")
CLARIFY = "utter_clarify_topic"
STOPPED_REPLIES = ("utter_handoff_stopped", "utter_handoff_declined")
NURSE_LINE = "nurse_line"
TARGETS = {"callbacks": 0.95, "followups": 0.90}


def _is_question(response: str) -> bool:
    """The replies in which the assistant asks the patient something in the call-back flow."""
    return response.startswith(("utter_ask_", "utter_offer_handoff")) or response == "utter_red_flag_urgent"


@dataclass
class Turn:
    """One patient message and everything the assistant did in reply."""

    text: str
    intent: Optional[str]
    replies: List[Dict[str, Any]] = field(default_factory=list)  # {"text", "response"}
    actions: List[str] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)

    @property
    def responses(self) -> List[str]:
        return [r["response"] for r in self.replies if r["response"]]

    @property
    def reply_text(self) -> str:
        return "\n".join(r["text"] for r in self.replies if r["text"])

    def topic(self) -> Optional[str]:
        """What the reply was about: the FAQ topic answered, or the nurse line's number."""
        for response in self.responses:
            if response.startswith("utter_faq/"):
                return response.split("/", 1)[1]
        if self.slots.get("last_topic"):
            return str(self.slots["last_topic"])
        if any(r.startswith("utter_nurse_line_number") for r in self.responses):
            return NURSE_LINE
        return None


def turns_from_events(events: List[Dict[str, Any]]) -> List[Turn]:
    turns: List[Turn] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            turns.append(Turn(event.get("text") or "", intent.get("full_retrieval_intent_name") or intent.get("name")))
        elif not turns:
            continue
        elif kind == "bot":
            turns[-1].replies.append(
                {"text": event.get("text") or "", "response": (event.get("metadata") or {}).get("utter_action") or ""}
            )
        elif kind == "action" and event.get("name") != "action_listen":
            turns[-1].actions.append(event["name"])
        elif kind == "slot":
            turns[-1].slots[event["name"]] = event.get("value")
    return turns


class RestPlayer:
    """Plays messages to a running Rasa server over the REST channel and reads its trackers."""

    def __init__(self, base_url: str, prefix: str = "score") -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix

    def new_sender(self, name: str) -> str:
        return f"{self.prefix}-{name}-{uuid.uuid4().hex[:8]}"

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(
            self.base_url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=90) as response:
            return json.loads(response.read())

    def turns(self, sender: str) -> List[Turn]:
        with urllib.request.urlopen(f"{self.base_url}/conversations/{sender}/tracker", timeout=30) as response:
            return turns_from_events(json.loads(response.read())["events"])

    def play(self, name: str, messages: List[str]) -> List[Turn]:
        sender = self.new_sender(name)
        for text in messages:
            self.say(sender, text)
        return self.turns(sender)


def load_callbacks(sets: Path = SETS) -> List[Dict[str, Any]]:
    return yaml.safe_load((sets / "callbacks.yml").read_text(encoding="utf-8"))["conversations"]


def load_followups(sets: Path = SETS) -> List[Dict[str, Any]]:
    return yaml.safe_load((sets / "followups.yml").read_text(encoding="utf-8"))["exchanges"]


def repeated_replies(turns: List[Turn]) -> List[int]:
    """Indexes of turns whose reply is word for word the reply to the turn before."""
    return [i for i in range(1, len(turns)) if turns[i].reply_text and turns[i].reply_text == turns[i - 1].reply_text]


def _check(turn: Turn, expected: str) -> bool:
    if expected.startswith("text: "):
        return expected[len("text: ") :] in turn.reply_text
    if expected.startswith("faq/"):
        return f"utter_{expected}" in turn.responses
    return any(r == expected or r.startswith(expected + "_") for r in turn.responses)


@dataclass
class Result:
    id: str
    ok: bool
    problems: List[str]
    turns: List[Turn]


def score_callback(conversation: Dict[str, Any], turns: List[Turn]) -> Result:
    problems: List[str] = []
    says = conversation["says"]
    if len(turns) != len(says):
        problems.append(f"{len(turns)} turns recorded for {len(says)} messages")
    span = turns[conversation.get("starts", 0) :]
    allowed = int(conversation["questions"])
    asked = sum(1 for turn in span for response in turn.responses if _is_question(response))
    references = [i for i, turn in enumerate(span) if REFERENCE.search(turn.reply_text)]
    if any(CLARIFY in turn.responses for turn in span):
        problems.append("asked 'did you mean' during the call back")
    if repeated_replies(turns):
        problems.append(f"same reply twice in a row at turn {repeated_replies(turns)}")
    if conversation["expect"] == "confirmed":
        if references != [len(span) - 1]:
            problems.append(f"reference given at turns {references}, expected only at the last")
        if asked > allowed:
            problems.append(f"asked {asked} questions, {allowed} were needed")
        if len(span) > asked + 1:
            problems.append(f"{len(span)} messages for {asked} questions")
    else:
        if references:
            problems.append("a reference was given")
        if not span or not any(r in span[-1].responses for r in STOPPED_REPLIES):
            problems.append("the last message was not answered with 'nothing was sent'")
        if any("handoff_reference" in turn.slots and turn.slots["handoff_reference"] for turn in span):
            problems.append("a handoff was recorded")
    for index, expected in (conversation.get("checks") or {}).items():
        if int(index) >= len(turns) or not _check(turns[int(index)], str(expected)):
            problems.append(f"turn {index}: expected {expected}")
    return Result(conversation["id"], not problems, problems, turns)


def score_followup(exchange: Dict[str, Any], turns: List[Turn]) -> Result:
    problems: List[str] = []
    if len(turns) != 2:
        return Result(exchange["then"], False, [f"{len(turns)} turns recorded"], turns)
    first, then = turns
    first_topic = first.topic() or first.intent
    if exchange.get("first_topic") and first_topic != exchange["first_topic"]:
        problems.append(f"first question taken as {first_topic}")
    if CLARIFY in then.responses:
        problems.append("asked 'did you mean'")
    if then.topic() != exchange["topic"]:
        problems.append(f"follow-up taken as {then.topic()} ({then.intent})")
    if then.reply_text == first.reply_text:
        problems.append("same reply twice in a row")
    return Result(f"{exchange['first']} -> {exchange['then']}", not problems, problems, turns)


def run_all(
    player: RestPlayer, workers: int = 4, progress: Optional[Callable[[str], None]] = None, sets: Path = SETS
) -> Dict[str, List[Result]]:
    """Plays both sets of the folder ``sets`` (a few conversations at a time) and scores them."""
    callbacks, followups = load_callbacks(sets), load_followups(sets)

    def callback(conversation: Dict[str, Any]) -> Result:
        return score_callback(conversation, player.play(conversation["id"], conversation["says"]))

    def followup(pair: Dict[str, Any]) -> Result:
        return score_followup(pair, player.play("followup", [pair["first"], pair["then"]]))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = {"callbacks": list(pool.map(callback, callbacks))}
        if progress:
            progress("call-backs played")
        results["followups"] = list(pool.map(followup, followups))
    return results


def callbacks_expecting(results: Dict[str, List[Result]], expect: str, sets: Path = SETS) -> List[Result]:
    """The played call-backs of ``sets`` meant to end as ``expect`` ("confirmed" or "stopped")."""
    return [r for r, c in zip(results.get("callbacks", []), load_callbacks(sets)) if c["expect"] == expect]


def figures(results: Dict[str, List[Result]], sets: Path = SETS) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, items in results.items():
        passed = sum(r.ok for r in items)
        out[name] = {"passed": passed, "total": len(items), "rate": passed / len(items) if items else 0.0}
    confirmed, stopped = (callbacks_expecting(results, expect, sets) for expect in ("confirmed", "stopped"))
    out["callbacks"]["confirmed"] = f"{sum(r.ok for r in confirmed)}/{len(confirmed)}"
    out["callbacks"]["stopped"] = f"{sum(r.ok for r in stopped)}/{len(stopped)}"
    out["repeated_replies"] = sum(len(repeated_replies(r.turns)) for items in results.values() for r in items)
    return out
