"""A dialogue policy that puts patient safety ahead of every other prediction.

It answers a red flag found by the NLU pipeline before anything else, active forms included; it
gives a patient who writes in a language the assistant does not speak the nurse line and the
emergency number in a short bilingual reply (outside forms) instead of a guess; and it tells the
patient the truth when one of our custom actions failed (the action server being down, for
instance) instead of leaving them without a reply. It needs no action server itself: its
replies are the domain's responses, rendered by Rasa.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_EXTRACT_SLOTS, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

# Loaded into every Rasa server that runs this policy: checks action-server replies without
# re-checking Rasa's schema on every call (see the module).
import clinic.nlu.rasa_speedups  # noqa: F401
from clinic.nlu.fixed_policy import FixedPolicy, events_since_last_user_message
from clinic.responses import OTHER_LANGUAGE, RED_FLAG_RESPONSES, SAID_AGAIN, SERVICE_TROUBLE
from clinic.severity import most_severe

SEVERITY_RESPONSES = RED_FLAG_RESPONSES
SAFETY_REPLIES = set(RED_FLAG_RESPONSES.values()) | {SAID_AGAIN[r] for r in RED_FLAG_RESPONSES.values()}
SERVICE_TROUBLE_RESPONSE = SERVICE_TROUBLE
OTHER_LANGUAGE_RESPONSE = OTHER_LANGUAGE
# Entity of clinic.nlu.language.LanguageDetector for a message in a language the assistant does not
# speak (named here, not imported: the policy must not load the detector's model).
OTHER_LANGUAGE_ENTITY = "other_language"


def red_flag_severity(entities: List[Dict[Text, Any]]) -> Optional[Text]:
    severity = most_severe(e.get("value") for e in entities if e.get("entity") == "red_flag")
    return severity.value if severity else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SafetyPolicy(FixedPolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Above RulePolicy (6) and the context policy (7), so that a red flag wins over any rule,
        # follow-up or active form.
        return {"priority": 8}

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
        actions = [e.action_name for e in since_user if isinstance(e, ActionExecuted)]
        uttered = any(isinstance(e, BotUttered) for e in since_user)
        last_action = actions[-1] if actions else None

        if last_action in SAFETY_REPLIES or last_action == OTHER_LANGUAGE_RESPONSE:
            return self._predict(ACTION_LISTEN_NAME, domain)

        entities = tracker.latest_message.entities if tracker.latest_message else []
        severity = red_flag_severity(entities)
        safety_reply = SEVERITY_RESPONSES.get(severity) if severity else None
        if safety_reply and not SAFETY_REPLIES.intersection(actions):
            # Never the same reply twice in a row: right after the same warning, it is said differently.
            again = SAID_AGAIN[safety_reply]
            if safety_reply in _previous_turn_actions(tracker) and again in domain.action_names_or_texts:
                safety_reply = again
            return self._predict(safety_reply, domain)
        if (
            set(actions) <= {ACTION_EXTRACT_SLOTS}
            and not tracker.active_loop_name
            and any(e.get("entity") == OTHER_LANGUAGE_ENTITY for e in entities)
        ):
            return self._predict(OTHER_LANGUAGE_RESPONSE, domain)

        if last_action in (SERVICE_TROUBLE_RESPONSE, SAID_AGAIN[SERVICE_TROUBLE_RESPONSE]):
            return self._predict(ACTION_LISTEN_NAME, domain)
        if last_action and _is_custom_action(last_action, domain) and not uttered:
            # A custom action of ours always says something; silence means it failed. Leave any
            # form so the patient is not asked for more details that cannot be passed on.
            trouble = SERVICE_TROUBLE_RESPONSE
            if trouble in _previous_turn_actions(tracker) and SAID_AGAIN[trouble] in domain.action_names_or_texts:
                trouble = SAID_AGAIN[trouble]
            return self._predict(
                trouble,
                domain,
                optional_events=[ActiveLoop(None)] if tracker.active_loop_name else None,
            )
        return self._abstain(domain)

    def _predict(
        self, action_name: Text, domain: Domain, optional_events: Optional[List[Any]] = None
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action_name)] = 1.0
        # A "no user" prediction competes with the happy path of an active form, which Rasa
        # otherwise lets overrule every other policy.
        return self._prediction(probabilities, optional_events=optional_events, is_no_user_prediction=True)


def _previous_turn_actions(tracker: DialogueStateTracker) -> List[Text]:
    """The actions that answered the patient's message before the latest one."""
    users = 0
    actions: List[Text] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            users += 1
            if users == 2:
                break
        elif users == 1 and isinstance(event, ActionExecuted) and event.action_name:
            actions.append(event.action_name)
    return actions


def _is_custom_action(action_name: Text, domain: Domain) -> bool:
    return action_name in domain.user_actions or action_name in domain.form_names
