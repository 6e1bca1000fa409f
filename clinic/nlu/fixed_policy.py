"""What the clinic's two hand-written dialogue policies (safety, context) share: nothing to learn,
a prediction of one action or none, and the events since the patient's latest message."""

from __future__ import annotations

from typing import Any, List, Optional

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


class FixedPolicy(Policy):
    """A policy whose decisions are code reviewed in tests, not learned from stories."""

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(self, training_trackers: List[Any], domain: Domain, **kwargs: Any) -> Resource:
        self._model_storage.write_to(self._resource)
        return self._resource

    def _abstain(self, domain: Domain) -> PolicyPrediction:
        return self._prediction(self._default_predictions(domain))


def events_since_last_user_message(tracker: DialogueStateTracker) -> Optional[List[Any]]:
    """The events after the patient's latest message; None before the first one."""
    events: List[Any] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return list(reversed(events))
        events.append(event)
    return None
