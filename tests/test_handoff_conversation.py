"""Whole conversations over the REST channel with the real bot, action server and database, checked
through the nurse console's API."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from clinic.settings import load_settings
from tests.conftest import Patient, start_rasa, stop_process
from tests.console_server import console_env, create_token, running_console
from tests.handoff_samples import PATIENT_NAMES, PATIENT_PHONES, PATIENT_PHONES_TYPED, PATIENT_REASONS

REFERENCE = re.compile(r"\bTPI-[0-9A-Z]{5}\b")
NURSE_PHONE = load_settings().nurse_line.phone


@pytest.fixture(scope="module")
def console_api(request, test_env, rasa_server):
    env = console_env(test_env["CLINIC_DATABASE_URL"])
    # One token per module that uses the fixture (other modules import it): token names are unique.
    token = create_token(env, f"conversation-tests-{request.module.__name__.rsplit('.', 1)[-1]}")
    with running_console(env, "console_conversation.log") as base:

        def get(path):
            request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.loads(response.read())

        yield get


def answer_until_reason(patient: Patient, index: int) -> None:
    assert "phone number" in patient.text_of(PATIENT_NAMES[index])
    retry = patient.text_of("12345")
    assert "doesn't look like a US phone number" in retry and "phone number should the nurse call" in retry
    assert "good time to call" in patient.text_of(PATIENT_PHONES_TYPED[index])
    assert "what would you like the nurse to help with" in patient.text_of("weekday mornings")


def complete_form(patient: Patient, index: int) -> str:
    """Answers the form's questions; returns the bot's last reply."""
    answer_until_reason(patient, index)
    assert "see this chat" in patient.text_of(PATIENT_REASONS[index])
    return patient.text_of("/affirm")


def test_asking_for_a_nurse_ends_with_a_reference_the_console_knows(patient, console_api):
    offer = patient.text_of("I want to talk to a nurse")
    assert "call you back" in offer and NURSE_PHONE in offer
    assert "What name should the nurse ask for?" in patient.text_of("/affirm")
    done = complete_form(patient, 0)
    assert "One moment while I pass this to the nurse line" in done
    (reference,) = REFERENCE.findall(done)
    assert "will call you at (212) 555-0147" in done

    handoff = console_api(f"/api/handoffs/{reference}")
    assert handoff["status"] == "new" and handoff["kind"] == "question" and handoff["urgency"] == "routine"
    assert handoff["patient_name"] == PATIENT_NAMES[0]
    assert handoff["callback_phone"] == PATIENT_PHONES[0]
    assert handoff["reason"] == PATIENT_REASONS[0] and handoff["consent"] is True
    said = [line["text"] for line in handoff["transcript"] if line["who"] == "patient"]
    assert said[:2] == ["I want to talk to a nurse", "Yes, please call me"]
    assert PATIENT_NAMES[0] in said and "12345" in said
    assert any("What phone number" in line["text"] for line in handoff["transcript"] if line["who"] == "assistant")
    assert reference in [h["reference"] for h in console_api("/api/handoffs")["handoffs"]]


def test_an_urgent_red_flag_handoff_lands_at_the_top_of_the_queue(rasa_server, console_api):
    routine = Patient(rasa_server)
    routine.say("can i book an appointment")
    routine.say("/affirm")
    routine_reference = REFERENCE.findall(complete_form(routine, 1))[0]
    assert console_api(f"/api/handoffs/{routine_reference}")["kind"] == "scheduling"

    urgent = Patient(rasa_server)
    warning = urgent.text_of("theres pus coming out of the injection site")
    assert "call you as well?" in warning
    start = urgent.text_of("/affirm")
    assert "mark it as urgent" in start and "What name should the nurse ask for?" in start
    assert "mark your request as urgent" not in start, "said once is enough"
    urgent_reference = REFERENCE.findall(complete_form(urgent, 3))[0]

    handoff = console_api(f"/api/handoffs/{urgent_reference}")
    assert handoff["kind"] == "urgent" and handoff["urgency"] == "urgent"
    assert handoff["red_flags"] and handoff["red_flags"][0]["severity"] == "urgent"
    assert handoff["red_flags"][0]["phrase"]
    queue = [h["reference"] for h in console_api("/api/handoffs")["handoffs"]]
    assert queue.index(urgent_reference) < queue.index(routine_reference)
    assert console_api("/api/handoffs")["handoffs"][0]["urgency"] in ("urgent", "emergency", "crisis")


def test_a_red_flag_told_as_the_reason_makes_the_request_urgent(patient, console_api):
    patient.say("I want to talk to a nurse")
    patient.say("/affirm")
    answer_until_reason(patient, 2)
    warning = patient.text_of(PATIENT_REASONS[2])  # numbness that lasts is a red flag of its own
    assert "call you as well?" in warning
    marked = patient.text_of("/affirm")
    assert "mark your request as urgent" in marked and "see this chat" in marked
    reference = REFERENCE.findall(patient.text_of("/affirm"))[0]
    handoff = console_api(f"/api/handoffs/{reference}")
    assert handoff["kind"] == "urgent" and handoff["urgency"] == "urgent"
    assert handoff["reason"] == PATIENT_REASONS[2]


def test_the_patient_can_stop_and_nothing_is_sent(patient, console_api):
    before = len(console_api("/api/handoffs?status=all")["handoffs"])
    patient.say("can someone call me back")
    patient.say("/affirm")
    patient.say(PATIENT_NAMES[3])
    stopped = patient.text_of("stop")
    assert "I haven't sent anything" in stopped and NURSE_PHONE in stopped
    assert len(console_api("/api/handoffs?status=all")["handoffs"]) == before


def test_declining_the_offer_gives_the_number(patient):
    patient.say("I want to talk to a nurse")
    declined = patient.text_of("/deny")
    assert NURSE_PHONE in declined and "will call" not in declined


def test_with_the_action_server_down_the_patient_gets_the_truth(trained_model, test_env):
    process, url = start_rasa(trained_model, "http://127.0.0.1:9", test_env, "rasa_dead_actions.log")
    try:
        reply = Patient(url).text_of("I want to talk to a nurse")
    finally:
        stop_process(process)
    trouble = "isn't responding, and I haven't passed anything on to the nurse line"
    assert trouble in reply and NURSE_PHONE in reply
    assert "will call you" not in reply and not REFERENCE.search(reply)
