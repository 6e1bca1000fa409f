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
# Said when the action server or the handoff database is down: nothing was passed on.
SERVICE_TROUBLE = "utter_service_trouble"
HANDOFF_STOPPED = "utter_handoff_stopped"
# A message clearly in a language the assistant does not speak: a short bilingual reply with the
# nurse line and the emergency number (the safety policy says it).
OTHER_LANGUAGE = "utter_other_language"
