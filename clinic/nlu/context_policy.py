"""A dialogue policy for what only the conversation so far can decide: follow-ups in context, the
same question asked again, a message asked in parts, and a patient accepting the assistant's own
proposal of a call back with a "yes", their name or their number.

The decisions are clinic.dialogue.routing's (pure Python, shared with the actions); this policy
applies them right after a patient's message, outside forms, and then lets the conversation listen
again. It ranks below the safety policy (red flags first, always) and above the rules.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.dialogue.context import context_from_events
from clinic.dialogue.routing import ANSWER_IN_CONTEXT, START_HANDOFF, decide
from clinic.nlu.fixed_policy import FixedPolicy, events_since_last_user_message

HANDOFF_FORM = "handoff_form"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class ContextPolicy(FixedPolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Above RulePolicy (6), below the safety policy (8).
        return {"priority": 7}

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        since_user = events_since_last_user_message(tracker)
        if since_user is None:
            return self._abstain(domain)
        actions = [e.action_name for e in since_user if isinstance(e, ActionExecuted) and e.action_name]
        if actions:
            if actions[-1] == START_HANDOFF:
                return self._predict(HANDOFF_FORM, domain)
            if actions[-1] == ANSWER_IN_CONTEXT:
                return self._predict(ACTION_LISTEN_NAME, domain)
            return self._abstain(domain)
        if tracker.active_loop_name or tracker.latest_message is None:
            return self._abstain(domain)
        parse = tracker.latest_message.parse_data
        if any(e.get("entity") == "red_flag" for e in parse.get("entities") or []):
            return self._abstain(domain)
        context = context_from_events([event.as_dict() for event in tracker.events])
        action = decide(parse, context, domain.responses.keys())
        return self._predict(action, domain) if action else self._abstain(domain)

    def _predict(self, action_name: Text, domain: Domain) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action_name)] = 1.0
        return self._prediction(probabilities)
