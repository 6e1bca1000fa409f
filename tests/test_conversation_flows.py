"""Conversations as patients have them (issue 14), over the REST channel with the real bot, action
server and database: the call-back form's paths, follow-ups in context, two questions in one
message, and never the same reply twice in a row."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from clinic.settings import load_settings
from tests.conftest import Patient
from tests.console_server import console_env, create_token, running_console

REFERENCE = re.compile(r"\bTPI-[0-9A-Z]{5}\b")
SETTINGS = load_settings()
NURSE_PHONE = SETTINGS.nurse_line.phone
NAME_QUESTION = "What name should the nurse ask for?"
PHONE_QUESTION = "What phone number should the nurse call?"
TIME_QUESTION = "When is a good time to call you?"
REASON_QUESTION = "what would you like the nurse to help with?"
SUMMARY = "Here is what I'll send to the nurse line"


@pytest.fixture(scope="module")
def console_api(test_env, rasa_server):
    env = console_env(test_env["CLINIC_DATABASE_URL"])
    token = create_token(env, "conversation-flow-tests")
    with running_console(env, "console_conversation_flows.log") as base:

        def get(path):
            request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.loads(response.read())

        yield get


def replies(patient: Patient, text: str) -> list:
    return [m.get("text", "") for m in patient.say(text)]


# ---- the call-back form ----


def test_an_explicit_request_starts_the_form_at_once_and_says_what_it_will_ask(patient):
    text = patient.text_of("I'd like a nurse to call me back please")
    assert "Would you like a call back?" not in text
    for words in ("your name", "phone number", "good time", "stop", NURSE_PHONE, NAME_QUESTION):
        assert words in text, words


def test_volunteered_details_are_confirmed_not_asked_again(patient):
    text = patient.text_of("Hi, this is Marisol Quintanilla, can a nurse call me at (212) 555-0147 after 3pm?")
    assert "Marisol Quintanilla" in text and "(212) 555-0147" in text and "after 3pm" in text
    assert NAME_QUESTION not in text and PHONE_QUESTION not in text and TIME_QUESTION not in text
    assert REASON_QUESTION in text
    summary = patient.text_of("my shoulder knot came back after the shot")
    assert SUMMARY in summary and "Marisol Quintanilla" in summary and "(212) 555-0147" in summary
    assert "my shoulder knot came back after the shot" in summary and "see this chat" in summary
    assert REFERENCE.search(patient.text_of("yes"))


def test_a_name_typed_after_the_offer_is_taken_as_a_yes(patient):
    offer = patient.text_of("can I speak to a nurse")
    assert "Would you like a call back?" in offer and NURSE_PHONE in offer
    text = patient.text_of("Thaddeus Okonkwo-Reyes")
    assert "Thaddeus Okonkwo-Reyes" in text and PHONE_QUESTION in text
    assert "Did you mean" not in text


def test_a_question_mid_form_is_answered_then_the_form_asks_again(patient):
    patient.say("call me back please")
    patient.say("Ingrid Vasquez-Holm")
    text = patient.text_of("what's the recovery like?")
    assert "within 72" in text, "the recovery answer"
    assert PHONE_QUESTION in text or "phone number" in text
    assert "doesn't look like a US phone number" not in text
    assert TIME_QUESTION in patient.text_of("415 555 0132")


def test_whats_that_for_explains_why_the_detail_is_needed(patient):
    patient.say("can someone call me")
    patient.say("Perpetua Lindqvist")
    text = patient.text_of("why do you need my number?")
    assert "call you back" in text and PHONE_QUESTION in text


def test_a_correction_after_the_form_moved_on_is_taken(patient):
    patient.say("can a nurse call me back?")
    patient.say("Marisol Quintanilla")
    patient.say("(212) 555-0100")
    text = patient.text_of("oops wrong number, it's (212) 555-0147")
    assert "(212) 555-0147" in text and TIME_QUESTION in text
    patient.say("mornings")
    summary = patient.text_of("my shoulder knot came back after the shot")
    assert "(212) 555-0147" in summary and "(212) 555-0100" not in summary
    assert "will call you at (212) 555-0147" in patient.text_of("yes")


def test_any_part_can_be_fixed_at_the_summary(patient):
    patient.say("please call me back")
    patient.say("Perpetua Lindqvist")
    patient.say("202.555.0175")
    patient.say("mornings")
    assert SUMMARY in patient.text_of("question about heat after the injection")
    changed = patient.text_of("change the time to after 4 pm")
    assert SUMMARY in changed and "after 4 pm" in changed and "mornings" not in changed
    which = patient.say("something's wrong")
    assert "What should I change?" in which[-1]["text"]
    assert {b["title"] for b in which[-1]["buttons"]} >= {"The name", "The number", "The time"}
    assert PHONE_QUESTION in patient.text_of("the number")
    assert "(202) 555-0176" in patient.text_of("202-555-0176")
    done = patient.text_of("yes")
    assert REFERENCE.search(done) and "(202) 555-0176" in done


def test_a_stopped_form_sends_nothing(patient, console_api):
    before = len(console_api("/api/handoffs?status=all")["handoffs"])
    patient.say("book me in")
    patient.say("Perpetua Lindqvist")
    stopped = patient.text_of("never mind")
    assert "I haven't sent anything" in stopped and "will call" not in stopped
    assert not REFERENCE.search(stopped)
    assert len(console_api("/api/handoffs?status=all")["handoffs"]) == before


def test_the_reference_can_be_asked_for_again(patient):
    patient.say("I'm Marisol Quintanilla, call me on (212) 555-0147 tomorrow afternoon about my knee injection")
    (reference,) = REFERENCE.findall(patient.text_of("yes"))
    assert reference in patient.text_of("what was my reference again?")


# ---- follow-ups in context ----


def test_a_body_part_follow_up_is_answered_for_the_last_topic(patient):
    patient.say("which parts of the body can you inject?")
    text = patient.text_of("what about the neck?")
    assert "the neck is one of the usual places" in text and "Did you mean" not in text


def test_a_detail_follow_up_is_answered_from_the_last_answer(patient):
    patient.say("what should i avoid after the injection")
    text = patient.text_of("what about a couple beers?")
    assert "alcohol" in text and "Did you mean" not in text


def test_the_number_again(patient):
    patient.say("how much does it cost")
    assert NURSE_PHONE in patient.text_of("sorry what was that number again?")


def test_an_unclear_follow_up_offers_topics_related_to_the_last_first(patient):
    patient.say("how soon does it start working")
    buttons = patient.say("what about it")[-1].get("buttons") or []
    payloads = [b["payload"] for b in buttons]
    assert payloads[:2] == ["faq:duration", "faq:recovery"], payloads


# ---- more than one question in a message ----


def test_two_questions_in_one_message_get_two_answers(patient):
    text = patient.text_of("what are the risks? and how soon does it work?")
    assert "24 to 72 hours" in text and "bruising" in text


def test_a_third_question_left_out_is_said(patient):
    messages = patient.say("What are the risks? How soon does it work? And how long does it last?")
    text = "\n".join(m.get("text", "") for m in messages)
    assert "more than two" in text
    assert any(b["payload"].startswith("faq:") for b in messages[-1].get("buttons") or [])


def test_a_symptom_told_with_a_question_gets_the_question_answered(patient):
    text = patient.text_of("no fever, no redness, just sore. when can I go back to the gym?")
    assert "72 hours" in text


# ---- never the same reply twice in a row ----


def test_the_same_reply_never_goes_out_twice_in_a_row(patient):
    for message in ["how much does it cost", "hi", "are you a bot", "what is the nurse line number"]:
        first = patient.text_of(message)
        second = patient.text_of(message)
        assert first != second, message
        if message != "hi":
            assert NURSE_PHONE in second, message


def test_an_answer_that_cannot_be_used_twice_is_asked_for_differently(patient):
    patient.say("call me back please")
    patient.say("Perpetua Lindqvist")
    first = patient.text_of("12345")
    second = patient.text_of("6789")
    assert first != second and NURSE_PHONE in second
