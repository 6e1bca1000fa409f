"""A Spanish-speaking patient over the REST channel with the real bot, action server and database:
asked, answered, warned and called back, all in Spanish; and a language the assistant does not
speak answered kindly, never with an alarm."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from clinic.settings import load_settings
from tests.conftest import Patient
from tests.console_server import console_env, create_token, running_console
from tests.handoff_samples import PATIENT_NAMES, PATIENT_PHONES, PATIENT_PHONES_TYPED
from tests.test_handoff_conversation import REFERENCE

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def console_api(test_env, rasa_server):
    env = console_env(test_env["CLINIC_DATABASE_URL"])
    token = create_token(env, "spanish-conversation-tests")
    with running_console(env, "console_spanish.log") as base:

        def get(path):
            request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.loads(response.read())

        yield get


def _say(patient: Patient, text: str, metadata=None):
    body = {"sender": patient.sender, "message": text}
    if metadata is not None:
        body["metadata"] = metadata
    request = urllib.request.Request(
        patient.base_url + "/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _text(replies) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def _spanish(replies) -> bool:
    return any(r.get("custom") == {"lang": "es"} for r in replies)


def test_the_question_that_raised_an_alarm_is_answered_in_spanish(rasa_server):
    patient = Patient(rasa_server)
    replies = patient.say("¿Duelen las inyecciones en puntos gatillo?")
    text = _text(replies)
    assert "Fuente:" in text and _spanish(replies), text
    assert "emergencia" not in text.lower() and SETTINGS.nurse_line.phone not in text, text


def test_an_answer_in_spanish_then_the_language_sticks(rasa_server):
    patient = Patient(rasa_server)
    replies = patient.say("¿Cuánto tiempo dura el alivio?")
    assert "de días a meses" in _text(replies) and _spanish(replies)
    # "ok" says no language: the conversation stays in Spanish.
    replies = patient.say("ok")
    assert _spanish(replies) and "¿Qué le gustaría saber" in _text(replies), replies
    # A clear English question turns it back.
    replies = patient.say("how soon does it start working?")
    assert not _spanish(replies) and "24 to 72 hours" in _text(replies)


def test_the_widget_chooses_spanish_through_metadata_and_the_greeting_payload(rasa_server):
    patient = Patient(rasa_server)
    replies = _say(patient, '/greet{"language": "es"}')
    assert _spanish(replies) and "no una persona" in _text(replies)
    assert "marque 2" in _text(replies) and "AYUDA" in _text(replies)
    other = Patient(rasa_server)
    replies = _say(other, "ok", metadata={"language": "es"})
    assert _spanish(replies), replies


def test_a_warning_in_a_spanish_conversation_is_in_spanish(rasa_server):
    patient = Patient(rasa_server)
    assert _spanish(patient.say("hola"))
    # English words for an emergency, too few to change the language: the reply stays Spanish.
    replies = patient.say("cant breathe")
    text = _text(replies)
    assert _spanish(replies) and f"llame al {SETTINGS.emergency_number} ahora" in text, text


def test_another_language_gets_a_bilingual_reply_not_an_alarm(rasa_server):
    patient = Patient(rasa_server)
    replies = patient.say("Quanto tempo dura o alívio da injeção nas costas?")
    text = _text(replies)
    assert "English or Spanish" in text and "inglés o en español" in text, text
    assert SETTINGS.nurse_line.phone in text and SETTINGS.emergency_number in text
    assert [b["title"] for b in replies[0]["buttons"]] == ["English", "Español"]


def test_a_spanish_speaker_is_called_back_in_spanish(rasa_server, console_api):
    patient = Patient(rasa_server)
    offer = patient.say("quiero hablar con una enfermera por favor")
    assert _spanish(offer) and "devuelva la llamada" in _text(offer), offer
    assert "nombre" in patient.text_of("sí")
    assert "teléfono" in patient.text_of(PATIENT_NAMES[1])
    # Not a number to call: asked again, in Spanish (the wording is the call-back form's).
    assert "número de teléfono" in patient.text_of("12345")
    assert "buen momento" in patient.text_of(PATIENT_PHONES_TYPED[1])
    assert "en qué le gustaría" in patient.text_of("en la mañana, después de las 9")
    assert "este chat" in patient.text_of("tengo preguntas sobre la segunda inyección")
    done = patient.text_of("/affirm")
    assert "Listo." in done and "referencia" in done, done
    (reference,) = REFERENCE.findall(done)
    handoff = console_api(f"/api/handoffs/{reference}")
    assert handoff["language"] == "es" and handoff["callback_phone"] == PATIENT_PHONES[1]
    assert handoff["patient_name"] == PATIENT_NAMES[1]
    assert re.search(r"dura|segunda", " ".join(m["text"] for m in handoff["transcript"]))
