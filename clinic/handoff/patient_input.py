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
    "stop", "cancel", "quit", "exit", "end", "never mind", "nevermind", "forget it", "no", "nope",
    "no thanks", "no thank you", "i changed my mind", "changed my mind", "don't call me", "dont call me",
    # Spanish (the form asks in Spanish for a conversation in Spanish)
    "parar", "para", "pare", "alto", "cancelar", "cancela", "cancele", "salir", "basta", "ya no",
    "no gracias", "no muchas gracias", "olvidalo", "olvídalo", "olvidelo", "olvídelo", "mejor no",
    "cambie de opinion", "cambié de opinión", "no me llamen", "no me llame",
}
_MARKUP = re.compile(r"[<>{}\[\]`\\]|https?:|www\.", re.IGNORECASE)
# Letters of any script, with the marks names really use between them.
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'’,-]+[^\W\d_]+)*\.?$")
_NAME_LEAD_IN = re.compile(r"^(?:(?:hi|hello|hey|hola)[,!.]?\s+)?(?:my name is|my name's|name is|name:|i am|i'm|im|it's|its|this is|call me|me llamo|mi nombre es|soy|nombre:)\s+", re.IGNORECASE)


def _tidy(text: object) -> str:
    return _SPACES.sub(" ", str(text or "")).strip()


def is_stop_request(text: object) -> bool:
    words = re.sub(r"[^\w' ]+", " ", _tidy(text).lower())
    words = _SPACES.sub(" ", re.sub(r"\b(please|just|ok|okay|por favor|mejor)\b", " ", words)).strip()
    return words in STOP_PHRASES


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
        return phonenumbers.format_number(phonenumbers.parse(e164, PHONE_REGION), phonenumbers.PhoneNumberFormat.NATIONAL)
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
