"""What a patient's message means while the call-back form waits for an answer.

The form asks for one detail at a time (the requested slot), but patients answer as they talk: with
the detail asked for, with more details than asked for ("Sam Lee, 312-555-0147"), with a correction
of an earlier one ("oops wrong number, it's ..."), with a question of their own ("what's the
recovery like?", "what's that for?"), or with "ok". ``read_form_message()`` sorts a message into
what to set, what to clear and whether it answers at all; the form's validation action
(actions/handoff.py) acts on it the Rasa way: values go through ``validate_<slot>``, and a message
that is not an answer is left unfilled so that Rasa interrupts the form for the rules
(data/rules/handoff.yml), which answer it and return to the form.

Nothing here logs: every value is the patient's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Set

from clinic.dialogue.names import NOT_NAME_WORDS
from clinic.handoff.patient_input import (
    clean_name,
    find_name,
    find_phone,
    find_time,
    is_stop_request,
    normalise_phone,
    without_phone,
)

NAME, PHONE, TIME, REASON, CONSENT = (
    "patient_name",
    "callback_phone",
    "callback_time",
    "handoff_reason",
    "handoff_consent",
)
DETAILS = (NAME, PHONE, TIME, REASON)

# Intents that are never an answer to the form's question: the rules answer them, then the form asks
# again (a question about the documents is the exception at the reason, where it *is* the reason).
INTERRUPTING_INTENTS = {
    "ask_why",
    "bot_challenge",
    "nurse_line_number",
    "request_nurse",
    "request_callback",
    "book_appointment",
    "goodbye",
    "deny",
}
QUESTION_INTENTS = {"faq", "nlu_fallback", "out_of_scope"}
# A yes at the summary, however the NLU read it ("sip", "va", "simón").
_YES = {
    "yes",
    "yep",
    "yup",
    "yeah",
    "sure",
    "si",
    "sí",
    "sip",
    "va",
    "sale",
    "simon",
    "simón",
    "dale",
    "claro",
    "orale",
    "órale",
    "andale",
    "ándale",
    "si va",
    "sí va",
    "va que va",
}
REQUEST_INTENTS = {"request_nurse", "request_callback", "book_appointment"}
# "call me back please" is a request again; longer, at the reason, it says what the call is about.
MAX_BARE_REQUEST_WORDS = 3
# At the reason, words that say what the call is about, however short ("about my shot", "sobre mi
# inyección"), whatever the NLU read into them.
_REASON_LEAD = re.compile(
    r"^(?:about|regarding|re:|it's about|its about|sobre|acerca de|es sobre|es de|de mi|con mi)\b", re.I
)
# A yes, thanks or hello while a detail is asked for is not the detail.
NON_ANSWER_INTENTS = {"affirm", "thank", "greet"}
# Messages that answer nothing: the form asks its question again, said differently.
_NON_ANSWERS = {
    "ok",
    "okay",
    "k",
    "kk",
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "y",
    "ya",
    "yes please",
    "ok sure",
    "sure thing",
    "thanks",
    "thank you",
    "thx",
    "ty",
    "hi",
    "hello",
    "hey",
    "hmm",
    "um",
    "uh",
    "what",
    "huh",
    "sorry",
    "alright",
    "all right",
    "go ahead",
    "great",
    "cool",
    "fine",
    "ok thanks",
    "okay thanks",
    "sounds good",
    "right",
    "si",
    "sí",
    "vale",
    "gracias",
    "muchas gracias",
    "hola",
    "claro",
    "bueno",
    "de acuerdo",
    "ok gracias",
}
_QUESTION_START = re.compile(
    r"^(?:wait[,\s]+|um+[,\s]+|oh[,\s]+|also[,\s]+|and[,\s]+|but[,\s]+|so[,\s]+|sorry[,\s]+|quick question[,:\s]+)*"
    r"(?:what|what's|whats|why|how|when|where|who|which|can|could|do|does|did|is|are|will|would|should|may|might|"
    r"am|has|have|tell me)\b"
    # Spanish: "espere, ¿duele la inyección?", "¿y pa qué quieren mi número?"
    r"|^(?:espere[,\s]+|oiga[,\s]+|perdon[,\s]+|perdón[,\s]+|y[,\s]+|pero[,\s]+|una pregunta[,:\s]+)*¿?"
    # "como a las 3" and "cuando sea" are times, not questions
    r"(?:que|qué|q|pa\s+que|pa\s+qué|para\s+que|para\s+qué|por\s+que|por\s+qué|porque|como(?!\s+a\b)|cómo|"
    r"cuando(?!\s+(?:sea|puedan|quieran|gusten)\b)|cuándo|"
    r"donde|dónde|quien|quién|cual|cuál|cuanto|cuánto|cuanta|cuánta|cuantos|cuántos|puedo|puede|pueden|hay|debo|"
    r"tengo\s+que|duele|dolera|dolerá|es\s+normal|es\s+seguro)\b",
    re.IGNORECASE,
)
# "wrong", "oops", "actually": the patient is correcting something said before.
_CORRECTION_CUE = re.compile(
    r"\b(?:wrong|oops|whoops|mistake|typo|actually|instead|correction|correct|change|changed|fix|not right|"
    r"isn't right|isnt right|is not right|meant|mean|update|different|new number|other number|use|"
    r"perdon|perdón|me equivoque|me equivoqué|equivocado|equivocada|error|corrijo|corregir|cambiar|cambie|cambié|"
    r"mejor ponga|en realidad|quise decir|otro numero|otro número|nuevo numero|nuevo número|no es ese)\b",
    re.IGNORECASE,
)
_DETAIL_WORDS = {
    NAME: re.compile(r"\b(?:name|spelled|spelling|nombre)\b", re.IGNORECASE),
    PHONE: re.compile(
        r"\b(?:number|phone|cell|mobile|digits|numero|número|telefono|teléfono|cel|celular)\b", re.IGNORECASE
    ),
    TIME: re.compile(r"\b(?:time|when|day|hour|hours|hora|horario|dia|día)\b", re.IGNORECASE),
    REASON: re.compile(
        r"\b(?:reason|about|what it's about|what its about|topic|why i need|motivo|razon|razón|asunto)\b", re.IGNORECASE
    ),
}
_SOMETHING_WRONG = re.compile(
    r"^(?:no[,.\s]+)?(?:(?:something|that|this|it|some of (?:it|that))(?:'s|\s+is|s)?\s+(?:wrong|not right|incorrect)|"
    r"(?:i\s+(?:need|want)\s+to\s+|can\s+i\s+|let\s+me\s+|please\s+)?(?:change|fix|correct|edit)\s+(?:something|it|that|a detail|one thing)"
    r"|not quite|not all of it|wrong|that's not right|thats not right|that is not right|no that's wrong|no thats wrong"
    r"|(?:hay\s+)?(?:algo|eso)\s+(?:(?:esta|está)\s+)?mal|(?:esta|está)\s+mal|no\s+es\s+correcto|no\s+(?:esta|está)\s+bien"
    r"|hay\s+un\s+error"
    r"|(?:quiero\s+|puedo\s+)?(?:cambiar|corregir)\s+algo)\.?$",
    re.IGNORECASE,
)
_TIME_CORRECTION = re.compile(
    r"\b(?:change|make|move|switch|set)\s+(?:the\s+|my\s+)?(?:time|it|call)\s+(?:to|for)\s+(?P<when>.+)$"
    r"|\b(?:actually|instead|rather)\b.*\b(?:call|ring|phone)\s+(?:me\s+)?(?P<when2>.+)$",
    re.IGNORECASE,
)
_REASON_CORRECTION = re.compile(
    r"\b(?:change|make)\s+(?:the\s+)?(?:reason|what it's about|what its about|topic)\s+(?:to|into)\s+(?P<reason>.+)$"
    r"|\bit's\s+actually\s+about\s+(?P<reason2>.+)$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d{3}")
# A name typed alone has at most this many words.
MAX_NAME_WORDS = 5


@dataclass
class FormReading:
    """What to do with one message while the form is open."""

    values: Dict[str, Any] = field(default_factory=dict)  # details to set (validated after)
    corrected: Set[str] = field(default_factory=set)  # details changed after they were given
    cleared: Set[str] = field(default_factory=set)  # details said to be wrong, without a new value
    interrupt: bool = False  # not an answer: leave it to the rules, then ask again
    nothing: bool = False  # not an answer, nothing to do: ask again, said differently
    which_detail: bool = False  # "something's wrong" at the summary: ask which part


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower().replace("\u2019", "'"))).strip()


def is_non_answer(text: str) -> bool:
    return _plain(text) in _NON_ANSWERS


def looks_like_question(text: str) -> bool:
    return text.strip().endswith("?") or bool(_QUESTION_START.match(text.strip()))


def looks_like_name(text: str) -> bool:
    """A message that is just a name ("Sam Lee", "dana lee", "it's Sam")."""
    name = clean_name(text)
    if name is None or len(name.split()) > MAX_NAME_WORDS:
        return False
    if looks_like_question(text) or is_non_answer(text) or is_stop_request(text):
        return False
    words = {w.strip(".,'’").lower() for w in name.split()}
    return not (words & NOT_NAME_WORDS) and find_time(text) is None


def detail_named(text: str) -> Optional[str]:
    """Which detail a message about changing something names ("the number", "the time")."""
    found = [slot for slot, pattern in _DETAIL_WORDS.items() if pattern.search(text)]
    return found[0] if len(found) == 1 else None


def _corrections(text: str, filled: Mapping[str, Any], requested: Optional[str], reading: FormReading) -> None:
    """Details the patient gave again with a new value while the form asked for something else."""
    phone = find_phone(text)
    if phone and requested != PHONE and filled.get(PHONE) and phone != normalise_phone(filled.get(PHONE)):
        reading.values[PHONE] = phone
        reading.corrected.add(PHONE)
    elif phone and requested != PHONE and not filled.get(PHONE):
        reading.values[PHONE] = phone
    name = find_name(text)
    if name and requested != NAME and name != filled.get(NAME):
        reading.values[NAME] = name
        if filled.get(NAME):
            reading.corrected.add(NAME)
    for slot, pattern, group in ((TIME, _TIME_CORRECTION, "when"), (REASON, _REASON_CORRECTION, "reason")):
        match = pattern.search(text)
        if match and requested != slot:
            value = (match.group(group) or match.group(f"{group}2") or "").strip(" .!")
            if value:
                reading.values[slot] = value
                if filled.get(slot):
                    reading.corrected.add(slot)


def read_form_message(
    text: str,
    intent: Optional[str],
    requested: Optional[str],
    filled: Mapping[str, Any],
    asked_which_detail: bool = False,
) -> FormReading:
    """Reads a message sent while the form waits for `requested`; `filled` holds the details so far."""
    text = (text or "").strip()
    reading = FormReading()
    if requested is None:
        reading.interrupt = True
        return reading
    if not text:
        if requested != CONSENT:
            reading.values[requested] = text  # the validation asks for it kindly
        else:
            reading.nothing = True
        return reading

    _corrections(text, filled, requested, reading)
    correcting = bool(reading.values) or bool(_CORRECTION_CUE.search(text))

    if requested == CONSENT:
        return _read_at_summary(text, intent, filled, reading, asked_which_detail)

    if requested == PHONE:
        phone = find_phone(text)
        if phone:
            reading.values[PHONE] = phone
            when = find_time(without_phone(text))
            if when and not filled.get(TIME):
                reading.values[TIME] = when
            return reading
        if _DIGITS.search(text) and not correcting and not looks_like_question(text):
            # "12345", "555-0147": a number that cannot be used (the validation says so), whatever
            # the NLU read into it.
            reading.values[PHONE] = text
            return reading
    elif requested == NAME:
        phone = find_phone(text)
        rest = without_phone(text) if phone else text
        if phone and looks_like_name(rest):
            reading.values[NAME] = clean_name(rest)
            return reading
        said = find_name(text)
        if said:
            reading.values[NAME] = said
            return reading
        if looks_like_name(text):
            # The words decide, not the intent: names are often read as a greeting or a goodbye.
            reading.values[NAME] = text
            return reading
    elif requested == TIME and not looks_like_question(text):
        when = find_time(text)
        if when and not correcting:
            reading.values[TIME] = when if len(when) >= len(text) / 2 else text
            return reading
    if reading.values and correcting:
        return reading  # a correction: the form asks its question again after saying so

    if (
        requested == REASON
        and intent in REQUEST_INTENTS
        and (len(text.split()) > MAX_BARE_REQUEST_WORDS or _REASON_LEAD.match(text))
    ):
        reading.values[REASON] = text  # "a question about botox" is what the call is about
    elif intent in INTERRUPTING_INTENTS or is_stop_request(text):
        reading.interrupt = True
    elif is_non_answer(text) or intent in NON_ANSWER_INTENTS:
        reading.nothing = True
    elif requested == REASON:
        reading.values[REASON] = text
    elif intent in QUESTION_INTENTS and looks_like_question(text):
        reading.interrupt = True
    elif requested == TIME:
        reading.values[TIME] = find_time(text) or text
    else:
        reading.values[requested] = text  # the validation says why it cannot be used
    return reading


def _read_at_summary(
    text: str, intent: Optional[str], filled: Mapping[str, Any], reading: FormReading, asked_which_detail: bool
) -> FormReading:
    if reading.values:
        return reading  # a new value for a detail: the summary is shown again with it
    named = detail_named(text)
    if asked_which_detail and named:
        reading.cleared.add(named)
        return reading
    if (intent == "affirm" or _plain(text) in _YES) and not _CORRECTION_CUE.search(text):
        reading.values[CONSENT] = True
        return reading
    if named and _CORRECTION_CUE.search(text) or named and re.search(r"\bwrong|not right|incorrect\b", text, re.I):
        reading.cleared.add(named)
        return reading
    if _SOMETHING_WRONG.match(_plain(text)) or (intent == "deny" and _CORRECTION_CUE.search(text)):
        reading.which_detail = True
        return reading
    if (
        intent in INTERRUPTING_INTENTS
        or is_stop_request(text)
        or (intent in QUESTION_INTENTS and looks_like_question(text))
    ):
        reading.interrupt = True
        return reading
    reading.values[CONSENT] = text  # neither yes nor no: the validation asks again
    return reading
