"""The sentence encoder loads from the installed packages with no network, and its embeddings mean
something: a paraphrase is closer than an unrelated sentence."""

import socket

import numpy as np
import pytest
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.nlu.sentence_encoder import SentenceEncoderFeaturizer
from clinic.text.encoder import DIMENSIONS, SentenceEncoder, WordPiece, model_files


@pytest.fixture(scope="module")
def encoder():
    # Any attempt to open a connection while the model loads and runs fails the test.
    real_connect = socket.socket.connect

    def refuse(*args, **kwargs):
        raise AssertionError("the sentence encoder tried to use the network")

    socket.socket.connect = refuse
    try:
        model = SentenceEncoder(threads=1)
        model.encode(["warm-up"])
        yield model
    finally:
        socket.socket.connect = real_connect


def cosine(a, b):
    return float(np.dot(a, b))


def test_embeddings_are_unit_length_and_batching_does_not_change_them(encoder):
    texts = ["can i drive home after the injection", "ok", "what is a trigger point " * 40]
    together = encoder.encode(texts, batch_size=3)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert together.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)
    assert np.allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize(
    "text, paraphrase, unrelated",
    [
        (
            "Can I drive home after my trigger point injection?",
            "will I be able to drive myself afterwards",
            "what medicine is in the shot",
        ),
        (
            "how long do i have to wait between shots",
            "how often can I get the injections",
            "is it safe if I am pregnant",
        ),
        ("can i get in this week?", "I'd like to book an appointment soon", "why do muscle knots form"),
        ("How will I feel after my trigger point injection?", "will I be sore afterwards", "do you take my insurance"),
    ],
)
def test_a_paraphrase_is_closer_than_an_unrelated_question(encoder, text, paraphrase, unrelated):
    a, b, c = encoder.encode([text, paraphrase, unrelated])
    assert cosine(a, b) > cosine(a, c) + 0.1, (cosine(a, b), cosine(a, c))


def test_typographic_case_and_accents_read_alike(encoder):
    a, b, c = encoder.encode(
        [
            "What if trigger point injections don't work?",
            "WHAT IF TRIGGER POINT INJECTIONS DON'T WORK",
            "what if trigger point injections dón't work?",
        ]
    )
    assert cosine(a, b) > 0.95 and cosine(a, c) > 0.95


def test_wordpiece_splits_as_bert_uncased():
    tokenizer = WordPiece(model_files()["vocab"])
    assert tokenizer.words("Don’t  SHOTS!! café") == ["don", "’", "t", "shots", "!", "!", "cafe"]
    ids = tokenizer.ids("trigger point injections")
    assert ids[0] == tokenizer.cls and ids[-1] == tokenizer.sep and tokenizer.unk not in ids
    assert len(tokenizer.ids("word " * 500)) == 128


def test_featurizer_adds_one_sentence_row_and_a_sequence_shaped_like_the_tokens(encoder):
    featurizer = SentenceEncoderFeaturizer({**SentenceEncoderFeaturizer.get_default_config()}, "encoder")
    message = Message(data={TEXT: "does the needle hurt"})
    empty = Message(data={"intent": "greet"})
    featurizer.process_training_data(TrainingData([message, empty]))
    sentence = [f for f in message.features if f.type == FEATURE_TYPE_SENTENCE]
    sequence = [f for f in message.features if f.type == FEATURE_TYPE_SEQUENCE]
    assert len(sentence) == 1 and sentence[0].features.shape == (1, DIMENSIONS)
    assert sentence[0].attribute == TEXT
    assert len(sequence) == 1 and sequence[0].features.shape[1] == 1
    assert not empty.features
    served = featurizer.process([Message(data={TEXT: "does the needle hurt"})])[0]
    served_sentence = [f for f in served.features if f.type == FEATURE_TYPE_SENTENCE][0]
    assert np.allclose(served_sentence.features, sentence[0].features, atol=1e-5)
