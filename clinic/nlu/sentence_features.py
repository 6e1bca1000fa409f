"""``clinic.nlu.sentence_features.SentenceLevelOnly``: a Rasa 3.6 NLU component that shortens the
token-level (sequence) features after the featurizers and before DIET and the ResponseSelector: the
message text's to one placeholder row of one column, the answer texts' (the ResponseSelector's
labels) to their first row.

Why: without transformer layers (config.yml), DIET and the ResponseSelector classify from the
sentence-level features alone; the token-level rows still went through their feed-forward layers,
one pass per token, and nothing read the result. That dead work was most of the ResponseSelector's
training time and part of every message's. One row keeps the shapes both models expect, and one
column for the text shrinks the token-level input layers, which are as wide as the featurizers'
vocabularies, to almost nothing: with Adam's two copies of every weight, which Rasa also loads for
serving, they were about 60 MiB of weights and 130 MiB of the server's memory.
Entity recognition would need the token rows: keep this component out of pipelines that use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import FEATURE_TYPE_SEQUENCE, RESPONSE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu.message_step import MessageStep

# The answer texts are the ResponseSelector's labels: it sums their token rows into one vector per
# answer anyway, and with sixteen fixed answers any distinct vector per answer serves; their
# hundred-odd token rows per training example were most of its remaining training time.
SHORTENED = (TEXT, RESPONSE)


def _first_row(matrix: Any) -> Any:
    if scipy.sparse.issparse(matrix):
        return scipy.sparse.coo_matrix(matrix.tocsr()[:1])
    return matrix[:1]


def _placeholder_row(matrix: Any) -> Any:
    # The same value for every message: it carries nothing, as nothing reads it.
    if scipy.sparse.issparse(matrix):
        return scipy.sparse.coo_matrix(([1.0], ([0], [0])), shape=(1, 1))
    return np.ones((1, 1), dtype=matrix.dtype)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceLevelOnly(MessageStep):
    def apply(self, message: Message) -> None:
        shortened = []
        for feature in message.features:
            if feature.attribute in SHORTENED and feature.type == FEATURE_TYPE_SEQUENCE:
                shorten = _placeholder_row if feature.attribute == TEXT else _first_row
                feature = Features(shorten(feature.features), feature.type, feature.attribute, feature.origin)
            shortened.append(feature)
        message.features = shortened
