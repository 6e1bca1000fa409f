"""The NLU steps of issue 14: a topic must rest on a content word (TopicGate), and a message asked in
parts is read part by part (QuestionParts)."""

from pathlib import Path

import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu.question_parts import PartClassifier, QuestionParts
from clinic.nlu.topic_gate import TopicGate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(ROOT / "var" / "spacy" / "en_tpi_sm")


def faq_message(nlp, text, topic="conditions_treated", confidence=0.9):
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], nlp(text.lower()))
    message.set("intent", {"name": "faq", "confidence": 0.95})
    message.set(
        "response_selector",
        {
            "faq": {
                "ranking": [
                    {"intent_response_key": f"faq/{topic}", "confidence": confidence},
                    {"intent_response_key": "faq/risks", "confidence": 0.02},
                ]
            }
        },
    )
    return message


def test_a_topic_needs_a_content_word(nlp):
    gate = TopicGate({"threshold": 0.7, "ambiguity_margin": 0.1})
    empty, grounded = faq_message(nlp, "what about it"), faq_message(nlp, "what conditions does it treat")
    gate.process([empty, grounded])
    assert empty.get("intent")["name"] == "nlu_fallback"
    assert grounded.get("intent")["name"] == "faq"


EXAMPLES = (
    [
        (t, "risks")
        for t in [
            "what are the risks",
            "side effects of the shot",
            "is it dangerous",
            "any risks",
            "what can go wrong",
            "complications of trigger point injections",
        ]
    ]
    + [
        (t, "onset")
        for t in [
            "how soon does it work",
            "when will i feel better",
            "how long until it works",
            "how fast does it kick in",
            "when does relief start",
            "how quickly will it help",
        ]
    ]
    + [(t, "other") for t in ["hi", "thanks", "bye", "no fever no redness", "i had my shot yesterday", "ok"]]
)


class Parts(QuestionParts):
    def __init__(self):
        super().__init__(None, None, PartClassifier(EXAMPLES))  # type: ignore[arg-type]


def test_a_message_in_parts_gets_each_parts_topic():
    message = Message(data={TEXT: "what are the risks? and how soon does it work?"})
    Parts().process([message])
    parts = message.get("question_parts")
    assert [(p["text"], p["question"], p["topic"]) for p in parts] == [
        ("what are the risks?", True, "risks"),
        ("how soon does it work?", True, "onset"),
    ]
    assert all(0 < p["confidence"] <= 1 for p in parts)


def test_a_message_of_one_part_is_left_alone():
    message = Message(data={TEXT: "what are the risks of the injection"})
    Parts().process([message])
    assert message.get("question_parts") is None
