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

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_EXTRACT_SLOTS, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

# Loaded into every Rasa server that runs this policy: checks action-server replies without
# re-checking Rasa's schema on every call (see the module).
import clinic.nlu.rasa_speedups  # noqa: F401
from clinic.responses import OTHER_LANGUAGE, RED_FLAG_RESPONSES, SERVICE_TROUBLE
from clinic.severity import most_severe

SEVERITY_RESPONSES = RED_FLAG_RESPONSES
SERVICE_TROUBLE_RESPONSE = SERVICE_TROUBLE
OTHER_LANGUAGE_RESPONSE = OTHER_LANGUAGE
# Entity of clinic.nlu.language.LanguageDetector for a message in a language the assistant does not
# speak (named here, not imported: the policy must not load the detector's model).
OTHER_LANGUAGE_ENTITY = "other_language"


def red_flag_severity(entities: List[Dict[Text, Any]]) -> Optional[Text]:
    severity = most_severe(e.get("value") for e in entities if e.get("entity") == "red_flag")
    return severity.value if severity else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class SafetyPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Above RulePolicy (6), so that a red flag wins over any rule or active form.
        return {"priority": 7}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: List[Any], domain: Domain, **kwargs: Any) -> Resource:
        # Nothing to learn: the policy's behaviour is fixed by design and reviewed in tests.
        self._model_storage.write_to(self._resource)
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        since_user = _events_since_last_user_message(tracker)
        if since_user is None:
            return self._abstain(domain)
        actions = [e.action_name for e in since_user if isinstance(e, ActionExecuted)]
        uttered = any(isinstance(e, BotUttered) for e in since_user)
        last_action = actions[-1] if actions else None

        if last_action in SEVERITY_RESPONSES.values() or last_action == OTHER_LANGUAGE_RESPONSE:
            return self._predict(ACTION_LISTEN_NAME, domain)

        entities = tracker.latest_message.entities if tracker.latest_message else []
        severity = red_flag_severity(entities)
        safety_reply = SEVERITY_RESPONSES.get(severity) if severity else None
        if safety_reply and safety_reply not in actions:
            return self._predict(safety_reply, domain)
        if (set(actions) <= {ACTION_EXTRACT_SLOTS} and not tracker.active_loop_name
                and any(e.get("entity") == OTHER_LANGUAGE_ENTITY for e in entities)):
            return self._predict(OTHER_LANGUAGE_RESPONSE, domain)

        if last_action == SERVICE_TROUBLE_RESPONSE:
            return self._predict(ACTION_LISTEN_NAME, domain)
        if last_action and _is_custom_action(last_action, domain) and not uttered:
            # A custom action of ours always says something; silence means it failed. Leave any
            # form so the patient is not asked for more details that cannot be passed on.
            return self._predict(
                SERVICE_TROUBLE_RESPONSE,
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
        return self._prediction(
            probabilities, optional_events=optional_events, is_no_user_prediction=True
        )

    def _abstain(self, domain: Domain) -> PolicyPrediction:
        return self._prediction(self._default_predictions(domain))


def _events_since_last_user_message(tracker: DialogueStateTracker) -> Optional[List[Any]]:
    events: List[Any] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return list(reversed(events))
        events.append(event)
    return None


def _is_custom_action(action_name: Text, domain: Domain) -> bool:
    return action_name in domain.user_actions or action_name in domain.form_names
