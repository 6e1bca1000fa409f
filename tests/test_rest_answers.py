"""What a patient actually reads over the REST channel, including bad input."""

import pytest

from clinic.settings import get_settings
from tests.conftest import Patient

SETTINGS = get_settings()


def test_first_question_gets_a_sourced_answer_with_follow_ups(patient):
    replies = patient.say("what is a trigger point injection?")
    assert "shot into a painful muscle knot" in replies[0]["text"]
    assert "From: Trigger Point Injections" in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]] == ["faq:procedure", "faq:medications", "faq:risks"]


def test_a_named_site_is_confirmed_from_the_documents(patient):
    text = patient.text_of("Do you inject knees?")
    assert "spine, neck, shoulder, elbow and knee" in text
    assert "Yes, the knee is one of the usual places" in text


def test_greeting_has_the_disclaimer(patient):
    text = patient.text_of("hello")
    assert "not a person" in text and "can't give medical advice" in text
    assert SETTINGS.emergency_number in text


def test_emergency_reply_gives_the_emergency_number(patient):
    text = patient.text_of("my throat is swelling and i cant breathe after the injection")
    assert f"call {SETTINGS.emergency_number} now" in text
    assert "From:" not in text, "no FAQ answer in place of the emergency reply"


def test_crisis_reply_gives_988_with_care(patient):
    text = patient.text_of("honestly i just want to end it all")
    assert SETTINGS.crisis_line in text and SETTINGS.emergency_number in text
    assert "glad you told me" in text


def test_urgent_reply_sends_to_the_nurse_line(patient):
    replies = patient.say("the injection site is red hot and leaking pus and i have a fever")
    assert SETTINGS.nurse_line.phone in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]] == ["/affirm", "/deny"]


ALARMS = ["could be a medical emergency", "Crisis Lifeline", "need a nurse's attention soon"]


@pytest.mark.parametrize(
    "message",
    [
        "what are the signs of infection i should watch for",
        "can it cause nerve damage?",
        "my back is killing me, how soon does the shot work",
    ],
)
def test_asking_about_risks_is_not_an_alarm(patient, message):
    text = patient.text_of(message)
    assert not [alarm for alarm in ALARMS if alarm in text]
    assert text.strip()


def test_unanswerable_is_deflected_to_the_nurse_line(patient):
    text = patient.text_of("how much does a trigger point injection cost with my insurance")
    assert "can't answer" in text and SETTINGS.nurse_line.phone in text


def test_bot_challenge_is_answered_truthfully(patient):
    assert "not a person" in patient.text_of("am i chatting with a human?")


@pytest.mark.parametrize(
    "message",
    ["", "   ", "<script>alert(1)</script>", "¿Cuánto tiempo dura el alivio de la inyección?", "a" * 20000, "🙂🙂🙂"],
    ids=["empty", "blank", "markup", "spanish", "huge", "emoji"],
)
def test_bad_input_gets_a_kind_reply(patient, message):
    replies = patient.say(message)
    assert replies, "never silence"
    text = " ".join(r.get("text", "") for r in replies)
    assert "<script>" not in text
    assert text.strip()


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("What If Trigger Point Injections Don\u2019t Work?", "What If Trigger Point Injections Don't Work?"),
        ("WHAT IS A TRIGGER POINT INJECTION???", "what is a trigger point injection?"),
        ("\uff37\uff48\uff41\uff54 is a trigger point injection?", "What is a trigger point injection?"),
    ],
)
def test_a_phone_keyboard_or_capitals_get_the_same_answer(rasa_server, typed, plain):
    # Two conversations: in one, the same question twice in a row is answered differently (issue 14).
    assert Patient(rasa_server).text_of(typed) == Patient(rasa_server).text_of(plain)
