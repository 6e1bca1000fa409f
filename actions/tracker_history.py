"""Reading a conversation's history from the events Rasa sends the action server."""

from typing import Optional, Text

from rasa_sdk import Tracker


def previous_bot_action(tracker: Tracker) -> Optional[Text]:
    """The last action the bot ran before the patient's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            return event.get("name")
    return None
