"""SentenceLevelOnly keeps what DIET and the ResponseSelector read and drops the rest."""

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, RESPONSE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.nlu.sentence_features import SentenceLevelOnly


def _message():
    message = Message({TEXT: "can i drive home after the shot", INTENT: "faq"})
    tokens = scipy.sparse.coo_matrix(np.eye(7, 12))
    message.features = [
        Features(tokens, FEATURE_TYPE_SEQUENCE, TEXT, "words"),
        Features(scipy.sparse.coo_matrix(tokens.sum(axis=0)), FEATURE_TYPE_SENTENCE, TEXT, "words"),
        Features(np.ones((7, 4)), FEATURE_TYPE_SEQUENCE, TEXT, "dense"),
        Features(scipy.sparse.coo_matrix(np.ones((1, 3))), FEATURE_TYPE_SEQUENCE, INTENT, "words"),
        Features(scipy.sparse.coo_matrix(np.eye(40, 30)), FEATURE_TYPE_SEQUENCE, RESPONSE, "words"),
        Features(scipy.sparse.coo_matrix(np.ones((1, 30))), FEATURE_TYPE_SENTENCE, RESPONSE, "words"),
    ]
    return message


def test_token_rows_of_the_text_become_one_placeholder_and_the_rest_is_kept():
    message = _message()
    SentenceLevelOnly.create({}, None, None, None).process([message])
    sequence_words, sentence, sequence_dense, intent, answer_tokens, answer = message.features
    # One row of one column, the same for every message: the classifiers' token-level input
    # layers become 1 wide instead of the vocabulary's width.
    assert sequence_words.features.shape == (1, 1) and scipy.sparse.issparse(sequence_words.features)
    assert sequence_dense.features.shape == (1, 1) and not scipy.sparse.issparse(sequence_dense.features)
    other = _message()
    other.features[0] = Features(scipy.sparse.coo_matrix(np.eye(3, 12)), FEATURE_TYPE_SEQUENCE, TEXT, "words")
    SentenceLevelOnly.create({}, None, None, None).process([other])
    assert (other.features[0].features != sequence_words.features).nnz == 0
    # What the classifiers read is untouched: the sentence row (all 7 tokens) and the labels.
    assert sentence.features.shape == (1, 12) and sentence.features.sum() == 7
    assert intent.features.shape == (1, 3)
    # The answer text (the ResponseSelector's label) keeps its sentence row and one token row.
    assert answer_tokens.features.shape == (1, 30) and answer.features.shape == (1, 30)
    # Both featurizers' text rows still line up, as Rasa requires when it combines them.
    dense, sparse = message.get_dense_features(TEXT), message.get_sparse_features(TEXT)
    assert dense[0].features.shape[0] == sparse[0].features.shape[0] == 1


def test_shortening_twice_changes_nothing():
    message = _message()
    component = SentenceLevelOnly.create({}, None, None, None)
    component.process([message])
    once = [f.features.shape for f in message.features]
    component.process([message])
    assert [f.features.shape for f in message.features] == once


def test_training_data_is_processed_the_same_way():
    data = TrainingData([_message(), _message()])
    SentenceLevelOnly.create({}, None, None, None).process_training_data(data)
    for message in data.training_examples:
        assert message.get_sparse_features(TEXT)[0].features.shape[0] == 1
