"""An NLU component that reads a message sentence by sentence, for messages that ask more than one
thing ("what are the risks? and how soon does it work?") or tell something before asking ("no fever,
no redness, just sore. when can I go back to the gym?").

DIET and the ResponseSelector classify a message as a whole. This component splits it into parts
(sentences, and clauses joined by "and"/"also" before a question word), and gives each part of two
or more the FAQ topic of a small classifier of its own: word and character n-grams into a logistic
regression, fitted when the model is loaded from the NLU training examples the model keeps (FAQ
examples by topic, every other example as "other"). It only adds ``question_parts`` to the parse
(text, whether the part is a question, topic, confidence); the context policy decides what to answer
(clinic/dialogue/parts.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.dialogue.parts import OTHER, PARTS_KEY, split_parts
from clinic.topics import RETRIEVAL_INTENT

logger = logging.getLogger(__name__)

EXAMPLES_FILE = "labelled_examples.json"
INTENT_RESPONSE_KEY = "intent_response_key"


def _is_training(execution_context: ExecutionContext) -> bool:
    return any(node.fn == "train" for node in execution_context.graph_schema.nodes.values())


class PartClassifier:
    """Topic of a short piece of text: TF-IDF word and character n-grams, logistic regression."""

    def __init__(self, examples: List[Tuple[str, str]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        texts = [text.lower() for text, _ in examples]
        labels = [label for _, label in examples]
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2)),
            ]
        )
        self._model = make_pipeline(features, LogisticRegression(C=8.0, max_iter=2000))
        self._model.fit(texts, labels)

    def classify(self, text: str) -> Tuple[str, float]:
        probabilities = self._model.predict_proba([text.lower()])[0]
        best = int(probabilities.argmax())
        return str(self._model.classes_[best]), float(probabilities[best])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class QuestionParts(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, classifier: Optional[PartClassifier] = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = classifier

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "QuestionParts":
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = []
        for message in training_data.intent_examples:
            text, intent = message.get(TEXT), message.get(INTENT)
            if not text or not intent:
                continue
            key = message.get(INTENT_RESPONSE_KEY) or ""
            label = key.split("/", 1)[1] if intent == RETRIEVAL_INTENT and "/" in key else OTHER
            examples.append([text, label])
        with self._model_storage.write_to(self._resource) as directory:
            (directory / EXAMPLES_FILE).write_text(json.dumps(sorted(examples)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "QuestionParts":
        if _is_training(execution_context):
            return cls(model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                examples = json.loads((directory / EXAMPLES_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError):
            logger.warning("%s: no examples in the model; messages are not read part by part", cls.__name__)
            return cls(model_storage, resource)
        labels = {label for _, label in examples}
        if len(labels) < 2:
            return cls(model_storage, resource)
        return cls(model_storage, resource, PartClassifier([(t, label) for t, label in examples]))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._classifier is None:
            return messages
        for message in messages:
            try:
                parts = split_parts(message.get(TEXT) or "")
                if len(parts) < 2:
                    continue
                described = []
                for part in parts:
                    topic, confidence = self._classifier.classify(part.text)
                    described.append(
                        {
                            "text": part.text,
                            "question": part.question,
                            "topic": topic,
                            "confidence": round(confidence, 4),
                        }
                    )
                message.set(PARTS_KEY, described, add_to_output=True)
            except Exception:  # never lose a patient's message over this
                logger.exception("%s failed on a message", self.__class__.__name__)
        return messages
