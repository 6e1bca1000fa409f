"""An NLU component that decides whether the FAQ topic the ResponseSelector picked is sure enough.

Rasa's FallbackClassifier judges only the intent (`faq` as a whole); a patient is as badly served
by the wrong topic as by the wrong intent. When the best topic is weak, or the two best are close,
the message becomes `nlu_fallback` and the assistant asks which topic was meant. Topic buttons
("faq:<id>") select their topic outright.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic.topics import RESPONSE_SELECTOR, RETRIEVAL_INTENT, load_contract, topic_ranking


def _has_content_words(message: Message) -> bool:
    """Whether the message has a word that is not a function word (spaCy's stop words)."""
    try:
        doc = message.get(SPACY_DOCS[TEXT])
    except Exception:  # pragma: no cover - defensive
        doc = None
    if doc is None:
        return True
    return any(not (token.is_stop or token.is_punct or token.is_space) for token in doc)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class TopicGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.5, "ambiguity_margin": 0.1}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.threshold = float(config["threshold"])
        self.margin = float(config["ambiguity_margin"])
        self.contract = load_contract()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicGate":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            topic = self.contract.topic_from_payload(message.get(TEXT) or "")
            if topic:
                self._select(message, topic.id)
            elif self._is_unsure(message):
                self._fall_back(message)
        return messages

    def _is_unsure(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != RETRIEVAL_INTENT:
            return False
        if not _has_content_words(message):
            # "what about it": no word to ground a topic in, however sure the classifiers are
            # (the context policy reads such a message against the last answer).
            return True
        ranking = topic_ranking(message.as_dict())
        if not ranking:
            return True
        best = ranking[0]["confidence"]
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        return best < self.threshold or best - second < self.margin

    @staticmethod
    def _fall_back(message: Message) -> None:
        intent = message.get(INTENT) or {}
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, fallback, add_to_output=True)
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME
        ]
        message.set(INTENT_RANKING_KEY, [fallback] + ranking, add_to_output=True)

    @staticmethod
    def _select(message: Message, topic_id: Text) -> None:
        certain = {INTENT_NAME_KEY: RETRIEVAL_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, certain, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [certain], add_to_output=True)
        key = f"{RETRIEVAL_INTENT}/{topic_id}"
        selector = dict(message.get(RESPONSE_SELECTOR) or {})
        selector[RETRIEVAL_INTENT] = {
            "response": {
                "responses": [],
                PREDICTED_CONFIDENCE_KEY: 1.0,
                "intent_response_key": key,
                "utter_action": f"utter_{key}",
            },
            "ranking": [{PREDICTED_CONFIDENCE_KEY: 1.0, "intent_response_key": key}],
        }
        message.set(RESPONSE_SELECTOR, selector, add_to_output=True)
