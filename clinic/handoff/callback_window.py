"""When the nurse line can call a patient back, in words a patient reads in the chat.

Promises nothing the settings do not support: outside the line's hours the patient is told when it
opens next, and with no hours configured, only that the call comes when it is open. In English, or
in Spanish for a conversation in Spanish (``language="es"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from clinic.settings import NurseLine


@dataclass(frozen=True)
class CallbackWindow:
    open_now: bool
    # "tomorrow at 8:00 am (New York time)"; None when the line never opens
    next_opening: Optional[str]


SPANISH = "es"
_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def _clock(moment: datetime, language: Optional[str] = None) -> str:
    hour = moment.hour % 12 or 12
    if language == SPANISH:
        return f"{hour}:{moment.minute:02d} {'a. m.' if moment.hour < 12 else 'p. m.'}"
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}:{moment.minute:02d} {suffix}"


def describe_opening(opening: datetime, now: datetime, language: Optional[str] = None) -> str:
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    place = opening.tzinfo.key.split("/")[-1].replace("_", " ") if isinstance(opening.tzinfo, ZoneInfo) else None
    if language == SPANISH:
        day = "hoy" if days == 0 else "mañana" if days == 1 else f"el {_WEEKDAYS_ES[opening.weekday()]}"
        return f"{day} a las {_clock(opening, SPANISH)} (hora de {place or 'la clínica'})"
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    else:
        day = opening.strftime("%A")
    return f"{day} at {_clock(opening)} ({place or 'clinic'} time)"


def callback_window(line: NurseLine, now: Optional[datetime] = None, language: Optional[str] = None) -> CallbackWindow:
    now = now or datetime.now(timezone.utc)
    if line.is_open(now):
        return CallbackWindow(open_now=True, next_opening=None)
    opening = line.next_opening(now)
    return CallbackWindow(open_now=False, next_opening=describe_opening(opening, now, language) if opening else None)


def line_status(line: NurseLine, now: Optional[datetime] = None, language: Optional[str] = None) -> str:
    """One sentence on whether the line is open, for offers made before anything is recorded."""
    window = callback_window(line, now, language)
    if language == SPANISH:
        if window.open_now:
            return "La línea de enfermería está abierta ahora."
        if window.next_opening:
            return f"La línea de enfermería está cerrada en este momento; vuelve a abrir {window.next_opening}."
        return "La línea de enfermería está cerrada en este momento."
    if window.open_now:
        return "The nurse line is open now."
    if window.next_opening:
        return f"The nurse line is closed right now; it opens again {window.next_opening}."
    return "The nurse line is closed right now."
