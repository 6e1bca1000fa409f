"""SafetyPolicy: red flags before anything else, and honesty when a custom action failed."""

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.nlu.safety_policy import SafetyPolicy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("policy"))
    return SafetyPolicy.create(
        SafetyPolicy.get_default_config(), storage, Resource("safety"), ExecutionContext(GraphSchema({}), "test")
    )


def user(text, intent="faq", severity=None):
    entities = [{"entity": "red_flag", "value": severity, "start": 0, "end": len(text)}] if severity else []
    return UserUttered(text, {"name": intent, "confidence": 0.9}, entities)


def predicted(policy, domain, events):
    tracker = DialogueStateTracker.from_events("patient", [ActionExecuted("action_listen")] + events)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence == 0:
        return None, prediction
    return domain.action_names_or_texts[prediction.max_confidence_index], prediction


@pytest.mark.parametrize(
    "severity,reply",
    [
        ("emergency", "utter_red_flag_emergency"),
        ("crisis", "utter_red_flag_crisis"),
        ("urgent", "utter_red_flag_urgent"),
    ],
)
def test_a_red_flag_is_answered_first(policy, domain, severity, reply):
    action, prediction = predicted(policy, domain, [user("...", severity=severity)])
    assert action == reply
    assert prediction.is_no_user_prediction, "must win over an active form's happy path"
    assert prediction.policy_priority > 6, "above RulePolicy"


def test_crisis_wins_over_emergency_in_one_message(policy, domain):
    message = UserUttered(
        "x",
        {"name": "faq"},
        [{"entity": "red_flag", "value": "emergency"}, {"entity": "red_flag", "value": "crisis"}],
    )
    assert predicted(policy, domain, [message])[0] == "utter_red_flag_crisis"


def test_after_the_safety_reply_it_listens(policy, domain):
    events = [user("...", severity="emergency"), ActionExecuted("utter_red_flag_emergency"), BotUttered("call 911")]
    assert predicted(policy, domain, events)[0] == "action_listen"


def test_it_interrupts_an_active_form(policy, domain):
    events = [
        ActiveLoop("handoff_form"),
        SlotSet("requested_slot", "callback_phone"),
        user("my throat is swelling", intent="deny", severity="emergency"),
    ]
    assert predicted(policy, domain, events)[0] == "utter_red_flag_emergency"


def test_a_routine_message_is_left_to_the_rules(policy, domain):
    assert predicted(policy, domain, [user("what are the risks")])[0] is None


def test_a_silent_custom_action_means_it_failed(policy, domain):
    events = [user("talk to a nurse", intent="request_nurse"), ActionExecuted("action_offer_handoff")]
    action, prediction = predicted(policy, domain, events)
    assert action == "utter_service_trouble"


def test_a_failed_form_is_left(policy, domain):
    events = [
        ActiveLoop("handoff_form"),
        SlotSet("requested_slot", "patient_name"),
        user("Sam", intent="faq"),
        ActionExecuted("handoff_form"),
    ]
    tracker = DialogueStateTracker.from_events("patient", [ActionExecuted("action_listen")] + events)
    prediction = policy.predict_action_probabilities(tracker, domain)
    assert domain.action_names_or_texts[prediction.max_confidence_index] == "utter_service_trouble"
    assert any(isinstance(e, ActiveLoop) and e.name is None for e in prediction.optional_events)


def test_a_custom_action_that_spoke_is_fine(policy, domain):
    events = [
        user("do you inject knees"),
        ActionExecuted("utter_faq"),
        BotUttered("The injections are usually given..."),
        ActionExecuted("action_topic_fit"),
    ]
    assert predicted(policy, domain, events)[0] is None


def test_the_same_warning_right_after_is_said_differently(policy, domain):
    events = [
        user("theres pus", severity="urgent"),
        ActionExecuted("utter_red_flag_urgent"),
        BotUttered("..."),
        ActionExecuted("action_listen"),
        user("and its hot and red", severity="urgent"),
    ]
    assert predicted(policy, domain, events)[0] == "utter_red_flag_urgent_again"
    later = events[:4] + [
        user("ok", intent="affirm"),
        ActionExecuted("utter_affirm_idle"),
        BotUttered("Okay."),
        ActionExecuted("action_listen"),
        user("theres pus again", severity="urgent"),
    ]
    assert predicted(policy, domain, later)[0] == "utter_red_flag_urgent"


def test_the_service_trouble_apology_right_after_is_said_differently(policy, domain):
    events = [
        user("talk to a nurse", intent="request_nurse"),
        ActionExecuted("action_offer_handoff"),
        ActionExecuted("utter_service_trouble"),
        BotUttered("sorry"),
        ActionExecuted("action_listen"),
        user("talk to a nurse", intent="request_nurse"),
        ActionExecuted("action_offer_handoff"),
    ]
    assert predicted(policy, domain, events)[0] == "utter_service_trouble_again"


def test_the_safety_policy_ranks_above_the_context_policy():
    from clinic.nlu.context_policy import ContextPolicy

    assert SafetyPolicy.get_default_config()["priority"] > ContextPolicy.get_default_config()["priority"] > 6
