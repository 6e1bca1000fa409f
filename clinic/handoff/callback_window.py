"""When the nurse line can call a patient back, in words a patient reads in the chat.

Promises nothing the settings do not support: outside the line's hours the patient is told when it
opens next, and with no hours configured, only that the call comes when it is open.
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


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}:{moment.minute:02d} {suffix}"


def describe_opening(opening: datetime, now: datetime) -> str:
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    else:
        day = opening.strftime("%A")
    place = opening.tzinfo.key.split("/")[-1].replace("_", " ") if isinstance(opening.tzinfo, ZoneInfo) else "clinic"
    return f"{day} at {_clock(opening)} ({place} time)"


def callback_window(line: NurseLine, now: Optional[datetime] = None) -> CallbackWindow:
    now = now or datetime.now(timezone.utc)
    if line.is_open(now):
        return CallbackWindow(open_now=True, next_opening=None)
    opening = line.next_opening(now)
    return CallbackWindow(open_now=False, next_opening=describe_opening(opening, now) if opening else None)


def line_status(line: NurseLine, now: Optional[datetime] = None) -> str:
    """One sentence on whether the line is open, for offers made before anything is recorded."""
    window = callback_window(line, now)
    if window.open_now:
        return "The nurse line is open now."
    if window.next_opening:
        return f"The nurse line is closed right now; it opens again {window.next_opening}."
    return "The nurse line is closed right now."
