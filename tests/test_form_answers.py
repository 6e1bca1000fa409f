"""Reading what patients type while the call-back form waits (clinic/handoff/form_answers.py) and
the details they volunteer anywhere (clinic/handoff/patient_input.py)."""

import pytest

from clinic.handoff.form_answers import CONSENT, NAME, PHONE, REASON, TIME, read_form_message
from clinic.handoff.patient_input import find_name, find_phone, find_reason, find_time, is_stop_request

FILLED = {NAME: "Dana Whitfield", PHONE: "+13125550147", TIME: "mornings", REASON: "my shoulder"}


@pytest.mark.parametrize(
    "text,name,phone,when,reason",
    [
        ("Hi, this is Priya Natarajan. Can a nurse call me back?", "Priya Natarajan", None, None, None),
        (
            "My name is Lena Fischer, please call me back at 206 555 0143 after 2 pm",
            "Lena Fischer",
            "+12065550143",
            "after 2 pm",
            None,
        ),
        (
            "I'm Omar Haddad, call me on 303-555-0111 tomorrow afternoon about my knee injection",
            "Omar Haddad",
            "+13035550111",
            "tomorrow afternoon",
            "my knee injection",
        ),
        ("can a nurse call me about my steroid dose?", None, None, None, "my steroid dose"),
        ("I'm worried about my shot, can someone call me", None, None, None, "my shot, can someone call me"),
        ("ok can a nurse call me to talk about it", None, None, None, None),
        ("call me at (212) 555-0100 any time after 10", None, "+12125550100", "any time after 10", None),
        ("my cell is 555-0147", None, None, None, None),
        # Spanish (conversation set A, 2026-12-05)
        ("Buenas tardes, me llamo Ana Ruiz. ¿Me puede llamar una enfermera?", "Ana Ruiz", None, None, None),
        (
            "Hola soy Ana de la Cruz, llamenme al 312 555 0100 despues de las 2 porfa",
            "Ana de la Cruz",
            "+13125550100",
            "despues de las 2",
            None,
        ),
        (
            "me llamo Raul Soto, llameme mañana en la tarde, es sobre la inyeccion del hombro",
            "Raul Soto",
            None,
            "mañana en la tarde",
            "la inyeccion del hombro",
        ),
        ("cualquier hora despues de las 10", None, None, "cualquier hora despues de las 10", None),
        ("como a la hora del lunch", None, None, "como a la hora del lunch", None),
        ("como a mediodia", None, None, "como a mediodia", None),
    ],
)
def test_volunteered_details(text, name, phone, when, reason):
    assert (find_name(text), find_phone(text), find_time(text), find_reason(text)) == (name, phone, when, reason)


def test_an_answer_to_the_question_asked():
    assert read_form_message("Dana Whitfield", "out_of_scope", NAME, {}).values == {NAME: "Dana Whitfield"}
    assert read_form_message("312.555.0147", "nlu_fallback", PHONE, {NAME: "x"}).values == {PHONE: "+13125550147"}
    assert read_form_message("weekday mornings", "nlu_fallback", TIME, {}).values == {TIME: "weekday mornings"}
    reason = read_form_message("question about heat after the injection", "faq", REASON, {})
    assert reason.values == {REASON: "question about heat after the injection"} and not reason.interrupt


def test_more_details_than_asked_for():
    both = read_form_message("Sam Ortiz, 512-555-0155", "nlu_fallback", NAME, {})
    assert both.values == {NAME: "Sam Ortiz", PHONE: "+15125550155"}
    with_time = read_form_message("512-555-0156, best after 5", "nlu_fallback", PHONE, {NAME: "Nia"})
    assert with_time.values == {PHONE: "+15125550156", TIME: "best after 5"}


@pytest.mark.parametrize(
    "text,intent,requested",
    [
        ("what's the recovery like?", "faq", PHONE),
        ("wait, does the injection hurt?", "faq", NAME),
        ("how long does the relief usually last?", "faq", TIME),
        ("why do you need my number?", "ask_why", PHONE),
        ("what's the nurse line number again?", "nurse_line_number", PHONE),
        ("are you a real person?", "bot_challenge", NAME),
        ("no", "deny", TIME),
        ("why does the nurse need to see the chat?", "ask_why", CONSENT),
    ],
)
def test_questions_are_not_answers(text, intent, requested):
    reading = read_form_message(text, intent, requested, FILLED)
    assert reading.interrupt and not reading.values


@pytest.mark.parametrize("text,intent", [("ok", "affirm"), ("thanks", "thank"), ("hmm", "nlu_fallback")])
def test_nothing_to_take(text, intent):
    reading = read_form_message(text, intent, PHONE, {NAME: "x"})
    assert reading.nothing and not reading.values and not reading.interrupt


def test_corrections_after_the_form_moved_on():
    phone = read_form_message("oops wrong number, it's 312-555-0110", "nlu_fallback", TIME, FILLED)
    assert phone.values == {PHONE: "+13125550110"} and phone.corrected == {PHONE}
    name = read_form_message("actually my name is Kate Doyle", "nlu_fallback", CONSENT, FILLED)
    assert name.values == {NAME: "Kate Doyle"} and name.corrected == {NAME}
    when = read_form_message("change the time to after 4 pm", "nlu_fallback", CONSENT, FILLED)
    assert when.values == {TIME: "after 4 pm"} and when.corrected == {TIME}
    new = read_form_message("wrong number, use 206-555-0138 instead", "deny", CONSENT, FILLED)
    assert new.values == {PHONE: "+12065550138"}


def test_fixing_a_part_at_the_summary():
    assert read_form_message("yes", "affirm", CONSENT, FILLED).values == {CONSENT: True}
    assert read_form_message("the number is wrong", "deny", CONSENT, FILLED).cleared == {PHONE}
    assert read_form_message("something's wrong", "deny", CONSENT, FILLED).which_detail
    assert read_form_message("no that's wrong", "deny", CONSENT, FILLED).which_detail
    assert read_form_message("the time", "nlu_fallback", CONSENT, FILLED, asked_which_detail=True).cleared == {TIME}
    assert read_form_message("no", "deny", CONSENT, FILLED).interrupt, "a plain no stops the form (rule)"
    assert read_form_message("maybe", "nlu_fallback", CONSENT, FILLED).values == {CONSENT: "maybe"}


@pytest.mark.parametrize(
    "text,intent", [("Wendy Alvarez", "goodbye"), ("Lucy Tran", "bot_challenge"), ("dana lee", "greet")]
)
def test_a_name_is_a_name_whatever_the_nlu_made_of_it(text, intent):
    assert read_form_message(text, intent, NAME, {}).values == {NAME: text}


@pytest.mark.parametrize("text,intent", [("any time", "thank"), ("bye", "goodbye"), ("are you a bot", "bot_challenge")])
def test_everyday_words_are_not_a_name(text, intent):
    assert NAME not in read_form_message(text, intent, NAME, {}).values


@pytest.mark.parametrize("text,intent", [("12345", "nurse_line_number"), ("555-0147", "nlu_fallback")])
def test_a_number_that_cannot_be_used_is_still_an_answer_to_the_phone_question(text, intent):
    assert read_form_message(text, intent, PHONE, {NAME: "x"}).values == {PHONE: text}


@pytest.mark.parametrize("text", ["gracias", "sí", "vale"])
def test_a_spanish_yes_or_thanks_is_not_a_name(text):
    assert NAME not in read_form_message(text, "affirm", NAME, {}).values


def test_a_name_that_starts_like_a_weekday_is_a_name():
    assert read_form_message("Sato Testperson", "bot_challenge", NAME, {}).values == {NAME: "Sato Testperson"}


@pytest.mark.parametrize(
    "text,stops",
    [
        ("sabe que, mejor no", True),
        ("ya no, cambie de opinion. yo les llamo luego", True),
        ("never mind, I'll call them myself", True),
        ("no, my number is 312-555-0100", False),
        ("no, es Lupe", False),
        ("nah olvidalo", True),
        ("ok", False),
    ],
)
def test_a_stop_said_in_parts_stops_the_form_and_a_correction_does_not(text, stops):
    assert is_stop_request(text) is stops


def test_spanish_at_the_form():
    # a reason in so many words, whatever the NLU read into it
    assert read_form_message("sobre mi inyeccion", "book_appointment", REASON, {}).values == {
        REASON: "sobre mi inyeccion"
    }
    # "something is wrong" at the summary asks which detail
    assert read_form_message("hay algo mal", "nlu_fallback", CONSENT, {NAME: "Ana Ruiz"}).which_detail
    # a new name at the summary
    assert read_form_message(
        "perdon, mejor ponga Lupe Ramos", "out_of_scope", CONSENT, {NAME: "Guadalupe Ramos"}
    ).values == {NAME: "Lupe Ramos"}
    # a Spanish yes at the summary, whatever the NLU read into it
    assert read_form_message("sip", "nlu_fallback", CONSENT, {NAME: "Ana Ruiz"}).values == {CONSENT: True}
    # a question while the name is asked is not the name
    assert NAME not in read_form_message("espere, duele la inyeccion?", "faq", NAME, {}).values
