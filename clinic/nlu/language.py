"""``clinic.nlu.language.LanguageDetector``: the language of each message, for the conversation's
``language`` slot (English by default, or Spanish) and for the components after it.

It adds an entity ``language`` ("en" or "es") only when the message says clearly which language
it is in (clinic/text/language.py), or, failing that, when the widget says which language the
patient chose (the REST channel's ``metadata: {"language": "es"}``: the page's ``lang`` or the
widget's language switch). The domain maps the entity to the ``language`` slot, so a message that
says nothing ("sí", "ok", a phone number) leaves the conversation's language as it was. A
message clearly in a language the assistant does not speak gets an ``other_language`` entity
(value: the detected language) instead; the safety policy answers it with a short bilingual reply.

Every message also carries ``detected_language`` (language, detected, confidence, words,
likely) for the red-flag rules and for tests. Buttons' payloads ("/greet{...}") are not read:
Rasa takes their intent and entities from the payload itself.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    METADATA,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.text.language import OTHER, LanguageGuess, get_detector, supported_language

LANGUAGE_ENTITY = "language"
OTHER_LANGUAGE_ENTITY = "other_language"
DETECTED_LANGUAGE = "detected_language"
METADATA_LANGUAGE_KEY = "language"


def message_language(message: Message) -> Optional[LanguageGuess]:
    """What LanguageDetector found in a message (None before it ran)."""
    found = message.get(DETECTED_LANGUAGE)
    return LanguageGuess(**found) if isinstance(found, dict) else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # A path to another language settings file; default clinic/data/language.yml.
        return {"language_file": None}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["py3langid"]

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._detector = get_detector(config.get("language_file"))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            guess = self._detector.guess(text)
            message.set(DETECTED_LANGUAGE, asdict(guess), add_to_output=True)
            entity = self._entity(guess, message.get(METADATA), len(text))
            if entity:
                message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
        return messages

    def _entity(self, guess: LanguageGuess, metadata: Any, length: int) -> Optional[Dict[Text, Any]]:
        value: Optional[str]
        if guess.language == OTHER:
            kind, value = OTHER_LANGUAGE_ENTITY, guess.detected
        elif guess.language:
            kind, value = LANGUAGE_ENTITY, guess.language
        else:
            chosen = metadata.get(METADATA_LANGUAGE_KEY) if isinstance(metadata, dict) else None
            kind, value = LANGUAGE_ENTITY, supported_language(chosen, self._detector.spec)
        if not value:
            return None
        return {
            ENTITY_ATTRIBUTE_TYPE: kind,
            ENTITY_ATTRIBUTE_VALUE: value,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: length,
            EXTRACTOR: self.name,
        }
