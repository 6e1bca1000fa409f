"""A message asked in parts: splitting it (clinic.nlu.question_parts classifies the parts) and
deciding which topics to answer from the parts' topics.

Up to two distinct topics found with enough confidence in question parts are answered, the more
important first (clinic/data/followups.yml); a third is named and left for the patient to ask. A
message that tells something and then asks one thing is answered for what it asks, when the part
asked is read with enough confidence as another topic than the message as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping

PARTS_KEY = "question_parts"
OTHER = "other"
# A part's topic counts at this confidence (the part classifier's probability).
MIN_PART_CONFIDENCE = 0.5
# The one question after a statement must be read at least this surely to overrule the whole message.
MIN_FOCUS_CONFIDENCE = 0.6
MAX_ANSWERS = 2
MIN_PART_WORDS = 2
# Messages read as a whole as one of these may be answered part by part (a request for a nurse with
# a question in it is a request first).
ANSWERABLE_INTENTS = {"faq", "nlu_fallback", "out_of_scope"}

_QUESTION_WORDS = (
    r"what|what's|whats|why|how|when|where|who|which|can|could|do|does|did|is|are|will|would|"
    r"should|may|might|any|am|has|have|tell me"
)
_QUESTION_START = re.compile(
    rf"^(?:(?:and|also|but|so|then|plus|oh|ok|okay)\s+)*(?:{_QUESTION_WORDS})\b", re.IGNORECASE
)
# Sentence ends, semicolons and dashes between words.
_SENTENCES = re.compile(r"(?<=[?.!;])\s+|\s+[-\u2013\u2014]+\s+|\n+")
# "..., and how long does it last", "... also can I ..."
_CLAUSES = re.compile(rf",?\s+(?:and|also|plus|but)\s+(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE)


_LEADING_JOIN = re.compile(r"^(?:(?:and|also|plus|but|so)\s+)+", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    text: str
    question: bool


def split_parts(text: str) -> List[Part]:
    parts: List[Part] = []
    for sentence in _SENTENCES.split(text or ""):
        for clause in _CLAUSES.split(sentence):
            clause = _LEADING_JOIN.sub("", clause.strip(" ,;.-"))
            if len(clause.split()) < MIN_PART_WORDS:
                continue
            question = clause.endswith("?") or bool(_QUESTION_START.match(clause))
            parts.append(Part(clause, question))
    return parts


def topics_to_answer(parse: Mapping[str, Any]) -> List[str]:
    """The topics to answer for a message asked in parts, the more important first (an empty list
    when the message is answered as a whole)."""
    from clinic.dialogue.followups import important_first
    from clinic.topics import selected_topic

    parts: List[Dict[str, Any]] = list(parse.get(PARTS_KEY) or [])
    intent = (parse.get("intent") or {}).get("name")
    if len(parts) < 2 or intent not in ANSWERABLE_INTENTS:
        return []
    asked = [
        p
        for p in parts
        if p.get("question")
        and p.get("topic") not in (None, OTHER)
        and float(p.get("confidence") or 0) >= MIN_PART_CONFIDENCE
    ]
    topics = list(dict.fromkeys(str(p["topic"]) for p in asked))
    if len(topics) >= 2:
        return important_first(topics)
    told = [p for p in parts if not p.get("question")]
    if (
        len(topics) == 1
        and told
        and float(asked[0]["confidence"]) >= MIN_FOCUS_CONFIDENCE
        and topics[0] != selected_topic(parse)
    ):
        return topics
    return []
