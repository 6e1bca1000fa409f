"""Which reply a patient's message needs when the conversation so far decides it: the decisions of
the context policy (clinic.nlu.context_policy), kept here without Rasa so that they are easy to test.

- A message asked in parts, or a follow-up that the context resolves differently from the NLU alone
  (clinic/dialogue/followups.py), or the same question again: ``action_answer_in_context``.
- The assistant proposed a call (the offer, or the second miss) and the patient says yes, asks for a
  nurse again, or answers with their name or number: ``action_start_handoff``, which takes the
  details and starts the form.
- Anything else: None, and the rules decide.
"""

from __future__ import annotations

import re
from typing import Any, Collection, Mapping, Optional

from clinic.dialogue.context import Context
from clinic.dialogue.followups import NURSE_LINE, REFERENCE, Reading, resolve
from clinic.dialogue.names import NOT_NAME_WORDS
from clinic.dialogue.parts import topics_to_answer

ANSWER_IN_CONTEXT = "action_answer_in_context"
START_HANDOFF = "action_start_handoff"
OFFER_HANDOFF = "action_offer_handoff"
GIVE_UP = "utter_clarify_give_up"

# A phone number as typed: ten digits, in groups or not, perhaps with +1.
_PHONE_LIKE = re.compile(r"(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b")
_NAME_LIKE = re.compile(r"^[^\W\d_][\w'’.-]*(?:[\s,]+[^\W\d_][\w'’.-]*){0,3}$")
_NOT_A_NAME = re.compile(
    r"^(?:ok|okay|yes|yeah|yep|sure|no|nope|nah|hmm+|um+|what|why|how|when|where|who|which|can|could|do|does|is|are|"
    r"will|would|should|thanks|thank|thx|hi|hello|hey|maybe|later|not|i|i'm|im|please|stop|cancel|bye|the|my|a|an)\b",
    re.IGNORECASE,
)
# Intents that are not an answer to the offer, whatever the words.
_NOT_DETAILS = {"deny", "nurse_line_number", "ask_why", "book_appointment", "request_callback"}


# "can someone call me", "please call me back", "have a nurse ring me", "I'd like a call": a
# call-back request, whatever else the NLU made of the message ("can someone call me at
# 312-555-0188?" is not asking for the nurse line's number). Not "you can call me at ..." after a
# question (a number offered, the question still to answer), and not a question about a call already
# asked for ("when will the nurse call me?").
_CALL = r"(?:call|ring|phone|text)"
_CALL_ME = re.compile(
    rf"\b(?:can|could|would|will|pls|please|plz)\b[^.?!]{{0,40}}?\b{_CALL}\s+me\b"
    rf"|\b(?:have|get|ask)\s+[^.?!]{{0,25}}?\b{_CALL}\s+me\b"
    rf"|(?:^|[,.;:!-])\W*(?:(?:ok|okay|so|pls|please|plz)\s+)?{_CALL}\s+me\b"
    r"|\bcall\s*me\s*back\b|\bcall\s*back\b|\bcallback\b|\bgive\s+me\s+a\s+(?:call|ring)\b"
    rf"|\bi(?:'d|\s+would)?\s+(?:like|want|need)\s+(?:a\s+|someone\s+to\s+|a\s+nurse\s+to\s+|you\s+to\s+)?{_CALL}",
    re.IGNORECASE,
)
_OFFERED = re.compile(rf"\b(?:you|u)\s+(?:can|could|may)\s+{_CALL}\s+me\b|\breach\s+me\b", re.IGNORECASE)
_ABOUT_A_CALL = re.compile(r"^\W*(?:when|why|how|will|did|does|do|is|what|where|who)\b", re.IGNORECASE)
# Intents a call-me request may be mistaken for.
_MISREAD_REQUESTS = {"nurse_line_number", "request_nurse", "out_of_scope", "nlu_fallback", "faq", "greet"}


def asks_for_a_call(text: str) -> bool:
    text = text or ""
    return bool(_CALL_ME.search(text)) and not _OFFERED.search(text) and not _ABOUT_A_CALL.match(text)


def looks_like_details(text: str, strict: bool = False) -> bool:
    """A reply to "would you like a call back?" that is a name or a phone number (strict: a name
    only when written as one, "Sam Lee", for a message the NLU read as a yes)."""
    text = (text or "").strip()
    if _PHONE_LIKE.search(text):
        return True
    if not _NAME_LIKE.match(text) or _NOT_A_NAME.match(text) or len(text) > 60 or text.endswith("?"):
        return False
    words = text.replace(",", " ").split()
    if {w.lower().strip(".'’") for w in words} & NOT_NAME_WORDS:
        return False
    return not strict or (len(words) >= 2 and all(w[0].isupper() for w in words))


def reply_differs(parse: Mapping[str, Any], context: Context, responses: Collection[str]) -> bool:
    """Whether the context changes the reply the rules would give the message."""
    resolution = resolve(Reading.from_parse(parse), context)
    if resolution is None:
        return False
    intent = (parse.get("intent") or {}).get("name")
    if resolution.kind == NURSE_LINE:
        return intent != "nurse_line_number"
    if resolution.kind == REFERENCE:
        return True
    if resolution.by_context or resolution.repeat:
        return True
    return bool(resolution.detail) and f"utter_detail_{resolution.topic}_{resolution.detail}" in responses


def decide(parse: Mapping[str, Any], context: Context, responses: Collection[str]) -> Optional[str]:
    """The action to run right after the patient's message, or None to leave it to the rules."""
    intent = (parse.get("intent") or {}).get("name")
    text = str(parse.get("text") or "")
    if OFFER_HANDOFF in context.previous_actions:
        strict = intent in ("affirm", "faq")
        if intent == "request_nurse" or (intent not in _NOT_DETAILS and looks_like_details(text, strict=strict)):
            return START_HANDOFF
    if GIVE_UP in context.previous_responses and intent == "affirm":
        return START_HANDOFF
    if intent in _MISREAD_REQUESTS and asks_for_a_call(text):
        return START_HANDOFF
    if topics_to_answer(parse):
        return ANSWER_IN_CONTEXT
    if reply_differs(parse, context, responses):
        return ANSWER_IN_CONTEXT
    return None
