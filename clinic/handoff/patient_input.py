"""Checks and tidies what a patient types into the nurse-line form.

Each function returns the value to keep, or None when the answer cannot be used; the caller asks
again. Nothing here logs: every value is the patient's own words.
"""

from __future__ import annotations

import re
from typing import Optional

import phonenumbers

PHONE_REGION = "US"
# The nurse line calls within the North American numbering plan only.
PHONE_COUNTRY_CODE = 1
MAX_NAME = 80
MAX_NAME_WORDS = 6
MAX_TIME = 120
MAX_REASON = 1000
MIN_REASON = 2

_SPACES = re.compile(r"\s+")
# Whole messages that mean "stop this form". The NLU's deny intent covers most; these are caught
# even when it does not, because a patient who wants out must never be asked the next question.
STOP_PHRASES = {
    "stop",
    "cancel",
    "quit",
    "exit",
    "end",
    "never mind",
    "nevermind",
    "forget it",
    "no",
    "nope",
    "no thanks",
    "no thank you",
    "i changed my mind",
    "changed my mind",
    "don't call me",
    "dont call me",
    # Spanish (the form asks in Spanish for a conversation in Spanish)
    "parar",
    "para",
    "pare",
    "alto",
    "cancelar",
    "cancela",
    "cancele",
    "salir",
    "basta",
    "ya no",
    "no gracias",
    "no muchas gracias",
    "olvidalo",
    "olvídalo",
    "olvidelo",
    "olvídelo",
    "mejor no",
    "cambie de opinion",
    "cambié de opinión",
    "no me llamen",
    "no me llame",
    "ya no quiero",
    "nah",
    "nel",
    "nop",
    "nah olvidalo",
    "nah olvídalo",
    "no olvidalo",
    "no olvídalo",
    "no quiero",
    "yo les llamo",
    "yo les llamo luego",
    "yo les llamo despues",
    "yo les llamo después",
    "yo llamo luego",
    "yo llamo despues",
    "yo llamo después",
    "yo me comunico",
    "yo me comunico despues",
    "yo me comunico después",
    # and in English, after a stop: "never mind, i'll call them myself"
    "i'll call myself",
    "i'll call them myself",
    "i'll call them",
    "i'll call later",
    "i will call later",
    "i'll call you",
}
_MARKUP = re.compile(r"[<>{}\[\]`\\]|https?:|www\.", re.IGNORECASE)
# Letters of any script, with the marks names really use between them.
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'’,-]+[^\W\d_]+)*\.?$")
_NAME_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey|hola)[,!.]?\s+)?(?:my name is|my name's|name is|name:|i am|i'm|im|it's|its|this is|call me|me llamo|mi nombre es|soy|nombre:)\s+",
    re.IGNORECASE,
)


def _tidy(text: object) -> str:
    return _SPACES.sub(" ", str(text or "")).strip()


# Words around a stop that do not change it ("ok never mind", "sabe qué, mejor no").
_STOP_FILLERS = re.compile(
    r"\b(?:please|just|ok|okay|well|actually|por favor|mejor|sabe que|sabes que|sabe qué|sabes qué|mire|oiga|"
    r"bueno|pensandolo bien|pensándolo bien|ay|perdon|perdón|disculpe)\b"
)


def is_stop_request(text: object) -> bool:
    """Every part of the message, between its commas and full stops, says stop ("ya no, cambié de
    opinión. yo les llamo luego"); a part that says anything else ("no, my number is ...") keeps
    the form going."""
    parts = [
        _SPACES.sub(" ", _STOP_FILLERS.sub(" ", re.sub(r"[^\w' ]+", " ", part))).strip()
        for part in re.split(r"[,.;!?¡¿]+", _tidy(text).lower())
    ]
    parts = [part for part in parts if part]
    return bool(parts) and all(part in STOP_PHRASES for part in parts)


def clean_name(text: object) -> Optional[str]:
    name = _NAME_LEAD_IN.sub("", _tidy(text)).strip(" .,!")
    if not name or len(name) > MAX_NAME or _MARKUP.search(name):
        return None
    if len(name.split(" ")) > MAX_NAME_WORDS or not _NAME.match(name):
        return None
    return name


def normalise_phone(text: object) -> Optional[str]:
    """The number in E.164 form (+12125550147), or None when it is not a valid US number."""
    raw = _tidy(text)
    if not raw or len(raw) > 40 or not re.search(r"\d", raw):
        return None
    try:
        number = phonenumbers.parse(raw, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != PHONE_COUNTRY_CODE or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """How the number is read back to the patient: (212) 555-0147."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, PHONE_REGION), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def clean_callback_time(text: object) -> Optional[str]:
    value = _tidy(text)
    if not value or len(value) > MAX_TIME or _MARKUP.search(value):
        return None
    return value


def clean_reason(text: object) -> Optional[str]:
    # The reason is kept in the patient's words, markup included: the console escapes it.
    value = _tidy(text)
    if len(value) < MIN_REASON or len(value) > MAX_REASON:
        return None
    return value


# ---- details volunteered in a message ("this is Sam Lee, call me at 312-555-0147 after 3pm") ----

# Lead-ins that name the patient. After "this is", "i'm" or "i am" only a capitalised name counts
# ("I'm Sam Lee", not "I'm worried"); after "my name is" any letters do.
_NAME_SAID = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name\s+is|name's|names|my\s+name\s+is\s+actually|it's\s+spelled|spelled|"
    r"me\s+llamo|mi\s+nombre\s+es|se\s+escribe|mejor\s+ponga|ponga|p[óo]ngale|anote|an[óo]teme\s+como)\s+"
    r"(?P<name>[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,3})",
    re.IGNORECASE,
)
_NAME_INTRODUCED = re.compile(
    r"\b(?:[Tt]his\s+is|[Ii]'m|[Ii]’m|[Ii]\s+am|[Ii]m|[Ii]t's|[Ii]t’s|[Ss]oy|[Ll]e\s+habla)\s+"
    r"(?P<name>[A-Z][\w'’.-]*(?:\s+(?:(?:de|del|la|las|los)\s+)*[A-Z][\w'’.-]*){0,3})"
)
# Words that end a name found in running text.
_NAME_STOP = {
    "and",
    "but",
    "can",
    "could",
    "would",
    "will",
    "please",
    "pls",
    "call",
    "calling",
    "i",
    "my",
    "at",
    "on",
    "from",
    "here",
    "the",
    "a",
    "to",
    "about",
    "regarding",
    "thanks",
    "thank",
    "not",
    "no",
    "yes",
    "tomorrow",
    "today",
    "tonight",
    "morning",
    "mornings",
    "afternoon",
    "evening",
    "after",
    "before",
    "any",
    "actually",
    "instead",
    "again",
    "is",
    "was",
    "so",
    "then",
    "also",
    "with",
    "for",
    "re",
    # Spanish ("me llamo Rosa Jiménez, llámenme al ..."); not "de", "la" or "del": they are part of
    # many family names
    "y",
    "pero",
    "por",
    "porfa",
    "favor",
    "llamenme",
    "llámenme",
    "llameme",
    "llámeme",
    "me",
    "mi",
    "al",
    "en",
    "sobre",
    "gracias",
    "si",
    "sí",
    "mañana",
    "manana",
    "hoy",
    "quiero",
    "quisiera",
    "necesito",
    "tengo",
    "es",
    "para",
    "pa",
    "que",
    "con",
    "puede",
    "pueden",
    "podria",
    "podría",
}
_NOT_NAMES = {
    "sorry",
    "worried",
    "fine",
    "ok",
    "okay",
    "good",
    "great",
    "back",
    "sore",
    "still",
    "just",
    "in",
    "having",
    "not",
    "new",
    "here",
    "done",
    "ready",
    "calling",
    "hurting",
    "wondering",
    "looking",
    "trying",
    "the",
    "a",
    "an",
    "me",
    "you",
    "wrong",
    "correct",
    "right",
    "sure",
    "afraid",
    "scared",
    "nervous",
    "paciente",
    "yo",
    "la",
    "el",
    "una",
    "un",
}

# How patients say when to call.
_TIME_WORD = (
    r"(?:mornings?|afternoons?|evenings?|nights?|noon|midday|lunch(?:\s*time)?|weekdays?|weekends?|"
    r"today|tonight|tomorrow|tmrw|tmr|asap|now|any\s*time|anytime|whenever|"
    # Spanish: "en la mañana", "después de las 3", "a cualquier hora", "los sábados"
    r"ma[ñn]anas?|tardes?|noches?|mediod[ií]a|medio\s+d[ií]a|hoy|ahorita|temprano|cualquier\s+hora|"
    r"cuando\s+sea|cuando\s+puedan|fines?\s+de\s+semana|entre\s+semana|lunes|martes|mi[ée]rcoles|jueves|"
    r"(?:la\s+)?hora\s+(?:del|de\s+la|de)\s+(?:lunch|almuerzo|comida)|almuerzo|"
    r"viernes|s[áa]bados?|domingos?|"
    r"mon(?:day)?s?|tue(?:s|sday)?s?|wed(?:nesday)?s?|thu(?:rs|rsday)?s?|fri(?:day)?s?|sat(?:urday)?s?|sun(?:day)?s?)"
    r"(?![^\W\d_])"  # whole words: "Sato" is a name, not Saturday
)
_CLOCK = r"\d{1,2}(?::\d{2})?\s*(?:[ap]\.?\s?m\.?|o'?clock)?"
# Spanish words that lead into a time ("en la", "después de las", "como a las").
_SPANISH_TIME_LEAD = (
    r"en\s+la|en\s+las|por\s+la|por\s+las|a\s+la|a\s+las|de\s+la|despu[ée]s\s+de\s+las?|antes\s+de\s+las?|"
    r"desde\s+las?|hasta\s+las?|entre\s+las?|como\s+a\s+las?|como\s+a|a\s+eso\s+de\s+las?|despu[ée]s\s+del?|"
    r"antes\s+del?|el|los|este|esta|el\s+pr[óo]ximo|a|y|o|"
    r"ma[ñn]ana|hoy|mejor"
)
_TIME = re.compile(
    r"\b(?:(?:any|this|next|tomorrow|on|in\s+the|late|early|between|around|after|before|by|from|at|until|till|"
    r"as\s+soon\s+as|best|only|every|" + _SPANISH_TIME_LEAD + r")\s+)*"
    r"(?:" + _TIME_WORD + r"|" + _CLOCK + r"(?=\s|$|[,.!?])|as\s+soon\s+as\s+possible|right\s+away)"
    r"(?:\s*(?:,|or|and|to|-|through|thru|\bor\s+later)?\s*"
    r"(?:(?:any|this|next|in\s+the|late|early|after|before|around|at|" + _SPANISH_TIME_LEAD + r")\s+)*"
    r"(?:" + _TIME_WORD + r"|" + _CLOCK + r"(?=\s|$|[,.!?])))*",
    re.IGNORECASE,
)
# A greeting is not a time ("buenas tardes").
_GREETING = re.compile(r"\bbuen(?:a|o)s\s+(?:tardes|d[ií]as|noches)\b", re.IGNORECASE)
# Clock times need a cue (after 3, at 2 pm, 10am): a bare number is not a time.
_CLOCK_ONLY = re.compile(r"^\s*\d{1,2}(?::\d{2})?\s*$")
_REASON = re.compile(
    r"\b(?:about|regarding|concerning|re:|because|since|as|"
    r"sobre|acerca\s+de|respecto\s+a|porque|para\s+preguntar(?:\s+sobre)?|para\s+hablar\s+de|pa\s+platicar\s+de|"
    r"para\s+platicar\s+de)\s+(?P<reason>.+)$",
    re.IGNORECASE,
)
_VAGUE_REASON = {
    "it",
    "this",
    "that",
    "something",
    "stuff",
    "things",
    "that please",
    "it please",
    "this please",
    "eso",
    "esto",
    "algo",
    "unas cosas",
    "lo mismo",
}


def find_phone(text: object) -> Optional[str]:
    """The first valid US phone number written anywhere in the text, in E.164 form."""
    raw = str(text or "")
    if not re.search(r"\d{3}", raw):
        return None
    for match in phonenumbers.PhoneNumberMatcher(raw, PHONE_REGION, leniency=phonenumbers.Leniency.VALID):
        number = match.number
        if number.country_code == PHONE_COUNTRY_CODE:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def without_phone(text: object) -> str:
    """The text with any phone number and the words that introduce it taken out."""
    raw = str(text or "")
    for match in phonenumbers.PhoneNumberMatcher(raw, PHONE_REGION, leniency=phonenumbers.Leniency.POSSIBLE):
        raw = re.sub(
            r"(?:\b(?:at|on|to|is|use|number|cell|phone)\s+)*" + re.escape(match.raw_string),
            " ",
            raw,
            flags=re.IGNORECASE,
        )
    raw = re.sub(
        r"\b(?:my\s+)?(?:cell|phone|number|mobile|tel)(?:\s+(?:is|number))?\s*[:#]?\s*$",
        " ",
        raw.strip(" ,.;-"),
        flags=re.IGNORECASE,
    )
    return _SPACES.sub(" ", raw).strip(" ,.;:-")


def _trim_name(words: str) -> Optional[str]:
    kept = []
    for word in words.split():
        if word.lower().strip(".,'’") in _NAME_STOP:
            break
        kept.append(word.strip(",.;:!?"))
    if not kept or kept[0].lower() in _NOT_NAMES:
        return None
    return clean_name(" ".join(kept))


def find_name(text: object) -> Optional[str]:
    """A name the patient gave in running text ("my name is Sam Lee", "this is Sam Lee, ...")."""
    raw = _tidy(text)
    for pattern in (_NAME_SAID, _NAME_INTRODUCED):
        for match in pattern.finditer(raw):
            name = _trim_name(match.group("name"))
            if name:
                return name
    return None


def find_time(text: object) -> Optional[str]:
    """When to call, as the patient put it ("tomorrow afternoon", "after 3 pm", "any time")."""
    raw = _GREETING.sub(" ", _tidy(without_phone(text)))
    best = None
    for match in _TIME.finditer(raw):
        span = match.group(0).strip(" ,-")
        if not span or _CLOCK_ONLY.match(span):
            continue
        if best is None or len(span) > len(best):
            best = span
    return clean_callback_time(best) if best else None


def find_reason(text: object) -> Optional[str]:
    """What the call is about, from "... about my knee injection" (in the patient's words)."""
    raw = _tidy(text)
    match = _REASON.search(raw)
    if not match:
        return None
    reason = match.group("reason").strip(" ?.!,")
    time = find_time(reason)
    if time and reason.lower().endswith(time.lower()):
        reason = reason[: -len(time)].strip(" ,")
    if reason.lower() in _VAGUE_REASON or len(reason) < 3:
        return None
    return clean_reason(reason)
