"""Names of the domain's responses that code on both sides of the package utters or looks for.

The texts live in domain.yml only; these names are the contract between it, the safety policy and
the custom actions.
"""

from __future__ import annotations

from typing import Dict

# Red-flag replies by severity: the safety policy utters them, the handoff form looks for them.
RED_FLAG_RESPONSES: Dict[str, str] = {
    "crisis": "utter_red_flag_crisis",
    "emergency": "utter_red_flag_emergency",
    "urgent": "utter_red_flag_urgent",
}
URGENT_WARNING = RED_FLAG_RESPONSES["urgent"]
# The same reply never twice in a row: needed again right away, these are said differently (with
# the direct number). The rules do the same for their replies (data/rules/repeats.yml).
SAID_AGAIN: Dict[str, str] = {
    "utter_red_flag_crisis": "utter_red_flag_crisis_again",
    "utter_red_flag_emergency": "utter_red_flag_emergency_again",
    "utter_red_flag_urgent": "utter_red_flag_urgent_again",
    "utter_service_trouble": "utter_service_trouble_again",
}
URGENT_WARNINGS = (URGENT_WARNING, SAID_AGAIN[URGENT_WARNING])
# Said when the action server or the handoff database is down: nothing was passed on.
SERVICE_TROUBLE = "utter_service_trouble"
HANDOFF_STOPPED = "utter_handoff_stopped"
# A message clearly in a language the assistant does not speak: a short bilingual reply with the
# nurse line and the emergency number (the safety policy says it).
OTHER_LANGUAGE = "utter_other_language"
