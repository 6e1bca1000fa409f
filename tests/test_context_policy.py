"""The context policy on Rasa's own trackers: where it decides, and where it leaves the turn to the
safety policy, the form and the rules."""

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.nlu.context_policy import ContextPolicy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("context-policy"))
    return ContextPolicy.create(
        ContextPolicy.get_default_config(), storage, Resource("context"), ExecutionContext(GraphSchema({}), "test")
    )


def user(text, intent="faq", topic=None, entities=()):
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}
    if topic:
        parse["response_selector"] = {"faq": {"ranking": [{"intent_response_key": f"faq/{topic}", "confidence": 0.9}]}}
    return UserUttered(text, parse["intent"], list(entities), parse_data=parse)


def answered(topic):
    return [
        user("q", topic=topic),
        ActionExecuted("utter_faq"),
        BotUttered("...", metadata={"utter_action": f"utter_faq/{topic}"}),
        ActionExecuted("action_listen"),
    ]


def predicted(policy, domain, events):
    tracker = DialogueStateTracker.from_events("patient", [ActionExecuted("action_listen")] + events)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def test_a_follow_up_is_answered_in_context_then_it_listens(policy, domain):
    events = answered("recovery") + [user("is that normal?", intent="nlu_fallback")]
    assert predicted(policy, domain, events) == "action_answer_in_context"
    events += [ActionExecuted("action_answer_in_context"), BotUttered("Yes, some soreness...")]
    assert predicted(policy, domain, events) == "action_listen"


def test_a_question_of_its_own_is_left_to_the_rules(policy, domain):
    assert predicted(policy, domain, answered("recovery") + [user("what are the risks", topic="risks")]) is None


def test_a_red_flag_is_left_to_the_safety_policy(policy, domain):
    flag = [{"entity": "red_flag", "value": "urgent", "start": 0, "end": 3}]
    assert (
        predicted(
            policy,
            domain,
            answered("recovery") + [user("is that normal? its hot and red", "nlu_fallback", entities=flag)],
        )
        is None
    )


def test_inside_the_form_it_does_nothing(policy, domain):
    events = answered("recovery") + [
        ActiveLoop("handoff_form"),
        SlotSet("requested_slot", "callback_phone"),
        user("is that normal?", intent="nlu_fallback"),
    ]
    assert predicted(policy, domain, events) is None


def test_a_name_after_the_offer_starts_the_form(policy, domain):
    events = [
        user("can i speak to a nurse", "request_nurse"),
        ActionExecuted("action_offer_handoff"),
        BotUttered("Would you like a call back?", metadata={"utter_action": "utter_offer_handoff_question"}),
        ActionExecuted("action_listen"),
        user("Rosa Delgado", "out_of_scope"),
    ]
    assert predicted(policy, domain, events) == "action_start_handoff"
    events += [ActionExecuted("action_start_handoff"), BotUttered("From what you've told me...")]
    assert predicted(policy, domain, events) == "handoff_form"


def test_a_call_me_request_read_as_something_else_starts_the_form(policy, domain):
    assert (
        predicted(policy, domain, [user("can someone call me at 312-555-0188?", "nurse_line_number")])
        == "action_start_handoff"
    )
    assert predicted(policy, domain, [user("when will the nurse call me?", "nurse_line_number")]) is None
