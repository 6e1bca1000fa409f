"""The actions of issue 14 on replayed conversations: starting the call back with the details already
given, asking each detail without repeating a reply word for word, why a detail is needed, the
summary, and answers in context."""

from __future__ import annotations

from pathlib import Path

import yaml

from actions.faq import ActionAnswerInContext, ActionClarifyTopic
from actions.handoff import (
    ActionAskCallbackPhone,
    ActionAskHandoffConsent,
    ActionAskPatientName,
    ActionExplainDetail,
    ActionStartHandoff,
    ValidateHandoffForm,
)
from tests.replay import run_action, user_event

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())


def bot(response, text="..."):
    return {"event": "bot", "text": text, "metadata": {"utter_action": response}}


def action(name):
    return {"event": "action", "name": name}


def slot(name, value):
    return {"event": "slot", "name": name, "value": value}


def responses(messages):
    return [m.get("response") or m.get("text") for m in messages]


def slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# ---- starting the call back ----


def test_an_explicit_request_says_what_it_will_ask_and_takes_what_was_said():
    events = [
        action("action_listen"),
        user_event("Hi, this is Priya Natarajan, call me at 773-555-0190 about my shoulder", "request_callback"),
    ]
    messages, returned = run_action(ActionStartHandoff(), events, DOMAIN)
    assert responses(messages) == ["utter_handoff_start", "utter_handoff_noted"]
    assert messages[1]["noted"] == "Priya Natarajan, (773) 555-0190, my shoulder"
    got = slots(returned)
    assert got["handoff_kind"] == "question"
    assert (got["patient_name"], got["callback_phone"], got["handoff_reason"]) == (
        "Priya Natarajan",
        "+17735550190",
        "my shoulder",
    )
    assert got["callback_time"] is None and got["handoff_consent"] is None


def test_a_booking_request_is_a_scheduling_call_back():
    messages, returned = run_action(ActionStartHandoff(), [user_event("book me in", "book_appointment")], DOMAIN)
    assert responses(messages) == ["utter_handoff_start_scheduling"]
    assert slots(returned)["handoff_kind"] == "scheduling"


def test_a_name_typed_after_the_offer_is_taken_without_a_second_explanation():
    events = [
        user_event("can i speak to a nurse", "request_nurse"),
        action("action_offer_handoff"),
        bot("utter_offer_handoff_question"),
        slot("handoff_kind", "question"),
        action("action_listen"),
        user_event("Rosa Delgado", "out_of_scope"),
    ]
    messages, returned = run_action(ActionStartHandoff(), events, DOMAIN)
    assert responses(messages) == ["utter_handoff_noted"]
    assert slots(returned)["patient_name"] == "Rosa Delgado"


def test_details_of_a_request_already_sent_are_not_reused():
    events = [
        user_event("call me at 773-555-0190", "request_callback"),
        slot("handoff_reference", "TPI-ABCDE"),
        action("action_listen"),
        user_event("can a nurse call me again", "request_callback"),
    ]
    _, returned = run_action(ActionStartHandoff(), events, DOMAIN)
    assert slots(returned)["callback_phone"] is None


# ---- asking ----


def form_turn(previous, text, intent="nlu_fallback", said=()):
    """A form that asked with `previous` (responses) and got `text`; `said` this turn so far."""
    events = [
        user_event("call me back", "request_callback"),
        action("action_start_handoff"),
        action("handoff_form"),
        {"event": "active_loop", "name": "handoff_form"},
        slot("requested_slot", "callback_phone"),
    ]
    events += [bot(r) for r in previous] + [action("action_listen"), user_event(text, intent), action("handoff_form")]
    return events + [bot(r) for r in said]


def test_asked_again_right_after_asking_it_is_said_differently():
    first, _ = run_action(
        ActionAskCallbackPhone(),
        form_turn(["utter_ask_callback_phone"], "12345", said=["utter_invalid_callback_phone"]),
        DOMAIN,
    )
    assert responses(first) == ["utter_ask_callback_phone"]
    again, _ = run_action(
        ActionAskCallbackPhone(),
        form_turn(
            ["utter_invalid_callback_phone", "utter_ask_callback_phone"], "6789", said=["utter_invalid_callback_phone"]
        ),
        DOMAIN,
    )
    assert responses(again) == ["utter_ask_callback_phone_again"]
    assert "{nurse_line_phone}" in DOMAIN["responses"]["utter_ask_callback_phone_again"][0]["text"]


def test_the_name_question_does_not_repeat_the_stop_hint_of_the_start_line():
    messages, _ = run_action(
        ActionAskPatientName(),
        [user_event("call me back", "request_callback"), action("action_start_handoff"), bot("utter_handoff_start")],
        DOMAIN,
    )
    assert responses(messages) == ["utter_ask_patient_name_plain"]


def test_the_summary_shows_the_number_as_the_patient_reads_it():
    events = [
        slot("patient_name", "Dana Whitfield"),
        slot("callback_phone", "+13125550147"),
        slot("callback_time", "mornings"),
        slot("handoff_reason", "my shoulder"),
        user_event("my shoulder", "faq"),
    ]
    messages, _ = run_action(ActionAskHandoffConsent(), events, DOMAIN)
    assert responses(messages) == ["utter_ask_handoff_consent"] and messages[0]["phone"] == "(312) 555-0147"
    text = DOMAIN["responses"]["utter_ask_handoff_consent"][0]["text"]
    assert (
        "{patient_name}" in text
        and "{callback_time}" in text
        and "{handoff_reason}" in text
        and "see this chat" in text
    )


def test_why_a_detail_is_needed():
    events = [slot("requested_slot", "callback_phone"), user_event("why do you need my number?", "ask_why")]
    messages, _ = run_action(ActionExplainDetail(), events, DOMAIN)
    assert responses(messages) == ["utter_why_callback_phone"]


def test_a_correction_is_said_and_kept():
    events = form_turn(["utter_ask_callback_time"], "oops wrong number, it's 312-555-0110")
    events[4] = slot("requested_slot", "callback_time")
    events[1:1] = [slot("patient_name", "Greta Olsen"), slot("callback_phone", "+13125550101")]
    events.insert(-1, slot("requested_slot", "callback_time"))
    messages, returned = run_action(ValidateHandoffForm(), events, DOMAIN)
    assert slots(returned)["callback_phone"] == "+13125550110"
    assert responses(messages) == ["utter_changed_callback_phone"] and messages[0]["phone"] == "(312) 555-0110"


# ---- answers in context ----


def faq(text, topic, entities=()):
    return user_event(
        text,
        "faq",
        list(entities),
        response_selector={"faq": {"ranking": [{"intent_response_key": f"faq/{topic}", "confidence": 0.9}]}},
    )


def test_a_body_part_follow_up_gets_the_fit_for_the_last_topic():
    events = [
        faq("which parts can you inject", "injection_sites"),
        action("utter_faq"),
        bot("utter_faq/injection_sites"),
        action("action_listen"),
        faq("what about the neck?", "conditions_treated", [{"entity": "body_part", "value": "neck"}]),
    ]
    messages, returned = run_action(ActionAnswerInContext(), events, DOMAIN)
    assert responses(messages) == ["utter_fit_injection_sites_neck"]
    assert slots(returned) == {"last_topic": "injection_sites"}


def test_the_same_question_again_is_answered_differently():
    events = [
        faq("how soon does it work", "onset"),
        action("utter_faq"),
        bot("utter_faq/onset"),
        action("action_listen"),
        faq("how soon does it work", "onset"),
    ]
    messages, _ = run_action(ActionAnswerInContext(), events, DOMAIN)
    assert responses(messages) == ["utter_follow_up_same_topic"]
    third = events + [
        action("action_answer_in_context"),
        bot("utter_follow_up_same_topic"),
        action("action_listen"),
        faq("how soon does it work", "onset"),
    ]
    assert responses(run_action(ActionAnswerInContext(), third, DOMAIN)[0]) == ["utter_faq/onset"]


def test_a_detail_of_the_last_answer():
    events = [
        faq("what should i avoid after", "aftercare"),
        action("utter_faq"),
        bot("utter_faq/aftercare"),
        action("action_listen"),
        user_event("what about a couple beers?", "out_of_scope"),
    ]
    assert responses(run_action(ActionAnswerInContext(), events, DOMAIN)[0]) == ["utter_detail_aftercare_alcohol"]


def test_an_unclear_follow_up_offers_the_last_topics_related_ones_first():
    events = [
        faq("how soon does it work", "onset"),
        action("utter_faq"),
        bot("utter_faq/onset"),
        action("action_listen"),
        user_event(
            "umm idk",
            "nlu_fallback",
            response_selector={"faq": {"ranking": [{"intent_response_key": "faq/procedure", "confidence": 0.3}]}},
        ),
    ]
    messages, _ = run_action(ActionClarifyTopic(), events, DOMAIN)
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "faq:duration",
        "faq:recovery",
        "faq:procedure",
        "/request_nurse",
    ]


def test_two_questions_in_one_message_and_a_third_left_out():
    parts = [
        {"text": t, "question": True, "topic": topic, "confidence": 0.8}
        for t, topic in [
            ("how soon does it work?", "onset"),
            ("what are the risks?", "risks"),
            ("how long?", "duration"),
        ]
    ]
    events = [user_event("...", "faq", question_parts=parts)]
    messages, returned = run_action(ActionAnswerInContext(), events, DOMAIN)
    assert responses(messages) == ["utter_faq/risks", "utter_faq/onset", "utter_more_questions_left"]
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["faq:duration"]
    assert slots(returned) == {"last_topic": "onset"}


def test_asking_for_a_nurse_again_after_the_offer_starts_the_form_with_its_line():
    events = [
        user_event("can i speak to a nurse", "request_nurse"),
        action("action_offer_handoff"),
        bot("utter_offer_handoff_question"),
        slot("handoff_kind", "question"),
        action("action_listen"),
        user_event("i said i want a nurse", "request_nurse"),
    ]
    messages, _ = run_action(ActionStartHandoff(), events, DOMAIN)
    assert responses(messages) == ["utter_handoff_start"], "never silent: a silent action reads as a failure"
