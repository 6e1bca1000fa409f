"""Resolving a short follow-up against what the conversation was about (rules in
clinic/data/followups.yml).

``resolve()`` takes what the NLU made of the patient's latest message and the conversation's
context, and says what the message is about when the context decides it: a topic (perhaps with a
detail of it, or the body part or medication the patient named), the nurse line's number, or the
handoff reference. It returns None for a message that stands on its own, which is then answered as
any other. The context policy routes a message to ``action_answer_in_context`` when this resolves it
differently from the NLU alone; the action answers from the same resolution.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Pattern, Sequence, Tuple, Union

import yaml

from clinic.dialogue.context import Context
from clinic.settings import DATA_DIR

FOLLOWUPS_FILE = DATA_DIR / "followups.yml"
NURSE_LINE = "nurse_line"
REFERENCE = "reference"
SAME = "same"
OTHER = "_other"

TopicRule = Union[str, Mapping[str, str]]

_PUNCTUATION = re.compile(r"[^\w' ]+")
_SPACES = re.compile(r"\s+")
# "what about the neck?", "and my knee?", "how about lidocaine", "same for the hip", "the shoulder too?"
_ELLIPSIS = re.compile(
    r"^(?:(?:and|so|ok|okay|but|also|or|hmm|um|y|o|pero|bueno|oiga|oye|ah|entonces)\s+)*"
    r"(?:(?:what|how)\s+about|what\s+abt|how\s+bout|what\s+if\s+i\s+have|same\s+for|and\s+for|also|and|or|plus|with|"
    # Spanish: "¿y en el cuello?", "¿qué tal la rodilla?", "¿y si tengo diabetes?"
    r"que\s+tal|que\s+hay\s+de|que\s+me\s+dice\s+de|que\s+pasa\s+con|y\s+si\s+tengo|lo\s+mismo\s+para|"
    r"igual\s+para|tambien|y|o)\s+"
    r"(?P<rest>.+)$"
)
_TOO = re.compile(r"^(?P<rest>.+?)\s+(?:too|as well|also|tambien)$")
# Words that refer back to something said before.
_ANAPHORA = re.compile(r"\b(?:that|it|this|those|these|they|them|there|then|eso|esto|esa|ese|esas|esos)\b")
_DETERMINERS = re.compile(
    r"^(?:the|my|a|an|some|a couple|a couple of|couple|couple of|a few|doing|having|with|for|about|on|in|your|"
    r"el|la|los|las|mi|mis|un|una|unos|unas|en|de|del|al|a|pa|para|con|sobre|su|sus|tu|tus|un par de)\s+"
)
# Messages this long are questions of their own, not follow-ups.
MAX_FOLLOW_UP_WORDS = 9
# An unsure reading of an elliptical follow-up ("and the side effects?") is taken when its best
# topic has at least this share of the response selector's belief and is not the last topic.
LIKELY = 0.4
# What is left of "and ...?" that says nothing ("and then?", "and so?"): not a follow-up to resolve.
_EMPTY_REST = {
    "then",
    "so",
    "what",
    "ok",
    "okay",
    "that",
    "it",
    "this",
    "yeah",
    "um",
    "hmm",
    "entonces",
    "que",
    "eso",
    "esto",
    "asi",
    "ya",
    "luego",
}


def plain(text: str) -> str:
    """Lower case without accents, punctuation as spaces (apostrophes kept, typographic ones made
    plain)."""
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


@dataclass(frozen=True)
class Form:
    id: str
    patterns: Tuple[Pattern[str], ...]
    topic: TopicRule
    detail: Optional[str] = None


@dataclass(frozen=True)
class Detail:
    key: str
    words: Tuple[str, ...]
    topic: TopicRule


@dataclass(frozen=True)
class Rules:
    recent_turns: int
    answers: Dict[str, Tuple[Pattern[str], ...]]
    forms: Tuple[Form, ...]
    details: Tuple[Detail, ...]
    importance: Tuple[str, ...]

    def detail_in(self, text: str) -> Optional[Detail]:
        """The detail a message names (the longest word or phrase wins)."""
        found: Optional[Tuple[int, Detail]] = None
        padded = f" {text} "
        for detail in self.details:
            for word in detail.words:
                if f" {word} " in padded and (found is None or len(word) > found[0]):
                    found = (len(word), detail)
        return found[1] if found else None

    def rank(self, topic: str) -> int:
        return self.importance.index(topic) if topic in self.importance else len(self.importance)


def _lead(rule: TopicRule, last_topic: Optional[str]) -> Optional[str]:
    """Where a rule leads after last_topic: a topic id (SAME becomes the last topic)."""
    if isinstance(rule, str):
        target: Optional[str] = rule
    else:
        target = rule.get(last_topic or "", rule.get(OTHER))
    if target == SAME:
        return last_topic
    return target


def _compile(patterns: Sequence[str]) -> Tuple[Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    raw = yaml.safe_load(FOLLOWUPS_FILE.read_text(encoding="utf-8"))
    unknown = set(raw) - {"version", "recent_turns", "answers", "forms", "details", "importance"}
    if unknown:
        raise ValueError(f"{FOLLOWUPS_FILE.name}: unknown keys {sorted(unknown)}")
    return Rules(
        recent_turns=int(raw.get("recent_turns", 3)),
        answers={name: _compile(patterns) for name, patterns in (raw.get("answers") or {}).items()},
        forms=tuple(
            Form(f["id"], _compile(f["patterns"]), f["topic"], f.get("detail")) for f in raw.get("forms") or []
        ),
        details=tuple(
            Detail(key, tuple(plain(w) for w in spec["words"]), spec["topic"])
            for key, spec in (raw.get("details") or {}).items()
        ),
        importance=tuple(raw.get("importance") or []),
    )


@dataclass(frozen=True)
class Resolution:
    """What a follow-up is about.

    kind: "topic" (answer `topic`), "nurse_line" or "reference".
    detail: a detail of the topic the patient asked about (utter_detail_<topic>_<detail>).
    entity: (entity, value) of a body part or medication named for the topic.
    repeat: the topic is the one just answered (the reply must not be the same answer again).
    by_context: the context decided the topic (not the NLU's own reading of the message).
    """

    kind: str
    topic: Optional[str] = None
    detail: Optional[str] = None
    entity: Optional[Tuple[str, str]] = None
    repeat: bool = False
    by_context: bool = True


@dataclass(frozen=True)
class Reading:
    """What the NLU made of the patient's latest message."""

    text: str
    intent: Optional[str]
    topic: Optional[str] = None  # the FAQ topic, when the NLU was sure enough to answer it
    entities: Tuple[Tuple[str, str], ...] = ()
    candidates: Tuple[Tuple[str, float], ...] = ()  # the NLU's topics, best first, when it was unsure

    def likely_topic(self, minimum: float = LIKELY) -> Optional[str]:
        if self.topic:
            return self.topic
        if self.intent == "nlu_fallback" and self.candidates and self.candidates[0][1] >= minimum:
            return self.candidates[0][0]
        return None

    @classmethod
    def from_parse(cls, parse: Mapping[str, Any]) -> "Reading":
        from clinic.topics import selected_topic, topic_ranking

        entities = tuple(
            (str(e.get("entity")), str(e.get("value")))
            for e in parse.get("entities") or []
            if e.get("entity") in ("body_part", "medication")
        )
        return cls(
            text=str(parse.get("text") or ""),
            intent=(parse.get("intent") or {}).get("name"),
            topic=selected_topic(parse),
            entities=entities,
            candidates=tuple((r["topic"], r["confidence"]) for r in topic_ranking(parse)[:3]),
        )


# Intents a loose follow-up ("what about X", "and that?") may be read as: anything else (greetings,
# yes, no, thanks) is answered as it is.
FOLLOW_UP_INTENTS = {"faq", "nlu_fallback", "out_of_scope", "ask_why", "nurse_line_number", "request_nurse"}
# Never a follow-up: a request the rules act on.
NOT_FOLLOW_UP_FORMS = {"request_callback", "book_appointment"}


def _with_entity(
    reading: Reading, topic: Optional[str], last: Optional[str], by_context: bool = True, detail: Optional[str] = None
) -> Resolution:
    entity = reading.entities[0] if reading.entities else None
    return Resolution("topic", topic=topic, detail=detail, entity=entity, repeat=topic == last, by_context=by_context)


def resolve(reading: Reading, context: Context) -> Optional[Resolution]:
    rules = load_rules()
    text = plain(reading.text)
    if not text or reading.intent in NOT_FOLLOW_UP_FORMS:
        return None
    # The follow-up forms below are specific enough to override the NLU's reading of any other
    # intent ("is that normal" is sometimes read as a no); the looser readings are not.
    loose = reading.intent in FOLLOW_UP_INTENTS
    for kind, patterns in rules.answers.items():
        if any(p.search(text) for p in patterns):
            if kind == REFERENCE and not context.reference:
                continue
            return Resolution(kind, by_context=reading.intent != "nurse_line_number")
    last = context.recent_topic(rules.recent_turns)
    if last is None or len(text.split()) > MAX_FOLLOW_UP_WORDS:
        return None
    if reading.intent == "nurse_line_number":
        return None

    for form in rules.forms:
        if any(p.search(text) for p in form.patterns):
            topic = _lead(form.topic, last)
            return _with_entity(reading, topic, last, by_context=topic != reading.topic, detail=form.detail)

    if not loose:
        return None
    ellipsis = _ELLIPSIS.match(text) or _TOO.match(text)
    if ellipsis:
        rest = ellipsis.group("rest")
        while _DETERMINERS.match(rest):
            rest = _DETERMINERS.sub("", rest, count=1)
        if rest in _EMPTY_REST:
            return None
        detail = rules.detail_in(rest)
        if detail is not None:
            topic = _lead(detail.topic, last)
            return Resolution("topic", topic=topic, detail=detail.key, repeat=topic == last)
        if reading.entities:
            return _with_entity(reading, last, last)
        likely = reading.likely_topic()
        if likely and likely != last:
            # "what about physical therapy?" after the number of injections: a topic of its own.
            return None if reading.topic else Resolution("topic", topic=likely)
        if reading.intent == "out_of_scope":
            return None
        return Resolution("topic", topic=last, repeat=True)

    if reading.intent == "faq" and reading.topic == last:
        # The same question again: the same topic, said differently.
        return _with_entity(reading, last, last, by_context=False)
    if reading.intent == "faq" and reading.topic:
        return None
    if (
        _ANAPHORA.search(text)
        and len(text.split()) <= 6
        and reading.intent in ("nlu_fallback", "out_of_scope", "ask_why")
    ):
        # "why do they form?" is about the last topic when the NLU has it among its guesses; "how do
        # you treat them?" about the NLU's best guess otherwise.
        guesses = [topic for topic, _ in reading.candidates]
        likely = reading.likely_topic()
        if last not in guesses and likely and likely != last:
            return Resolution("topic", topic=likely)
        return Resolution("topic", topic=last, repeat=True)
    return None


def important_first(topics: List[str]) -> List[str]:
    rules = load_rules()
    return sorted(dict.fromkeys(topics), key=rules.rank)
