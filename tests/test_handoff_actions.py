"""The handoff actions, run on replayed conversations against a real SQLite (or an unreachable
PostgreSQL) database."""

from __future__ import annotations

import itertools
import re
import string
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from actions.handoff import ActionOfferHandoff, ActionSubmitHandoff, ValidateHandoffForm
from clinic.handoff.callback_window import callback_window, describe_opening
from clinic.handoff.store import HandoffStore
from clinic.settings import get_settings, load_settings
from tests.handoff_samples import PATIENT_NAMES, PATIENT_PHONES, PATIENT_PHONES_TYPED, PATIENT_REASONS, SCRIPT_PROBE
from tests.replay import load_recorded, run_action, user_event

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
FORM_SLOTS = ["patient_name", "callback_phone", "callback_time", "handoff_reason", "handoff_consent"]
_clock = itertools.count(1_736_175_600)  # 2025-01-06 15:00 UTC onwards, one second a step


def said(text, intent, **parse_data):
    event = user_event(text, intent, **parse_data)
    event["timestamp"] = float(next(_clock))
    return event


def bot(text, buttons=None, action=None):
    events = [{"event": "action", "name": action, "timestamp": float(next(_clock))}] if action else []
    return events + [
        {
            "event": "bot",
            "text": text,
            "data": {"buttons": buttons} if buttons else {},
            "timestamp": float(next(_clock)),
        }
    ]


def action(name):
    return {"event": "action", "name": name, "timestamp": float(next(_clock))}


def slot(name, value):
    return {"event": "slot", "name": name, "value": value, "timestamp": float(next(_clock))}


YES_NO = [{"title": "Yes, please call me", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}]


def conversation_until_form(kind_intent="request_nurse", before=()):
    """A recorded conversation up to the form's first question."""
    events = [{"event": "session_started", "timestamp": float(next(_clock))}, action("action_listen"), *before]
    events += [
        said(
            "i want to talk to a nurse" if kind_intent == "request_nurse" else "i want to book an appointment",
            kind_intent,
        ),
        action("action_offer_handoff"),
        *bot("I can ask the nurse line to call you back. Would you like a call back?", YES_NO),
        slot("handoff_kind", {"request_nurse": "question", "book_appointment": "scheduling"}[kind_intent]),
        action("action_listen"),
        said("/affirm", "affirm"),
        action("handoff_form"),
        {"event": "active_loop", "name": "handoff_form", "timestamp": float(next(_clock))},
        slot("requested_slot", "patient_name"),
        *bot("What name should the nurse ask for?"),
        action("action_listen"),
    ]
    return events


def answered(events, slot_name, text, intent="inform", value=None):
    """The patient answers the requested slot; Rasa's extraction appends the candidate at the end."""
    return events + [said(text, intent), slot(slot_name, text if value is None else value)]


def completed_form(index=0, reason=None, before=(), kind_intent="request_nurse", red_flag_turn=None):
    events = conversation_until_form(kind_intent, before)
    answers = [
        ("patient_name", PATIENT_NAMES[index], "What phone number should the nurse call?", "callback_phone"),
        ("callback_phone", PATIENT_PHONES_TYPED[index], "When is a good time to call you?", "callback_time"),
        (
            "callback_time",
            "weekday mornings",
            "In a few words, what would you like the nurse to help with?",
            "handoff_reason",
        ),
        (
            "handoff_reason",
            reason or PATIENT_REASONS[index],
            "Is it okay for the nurse line to call you?",
            "handoff_consent",
        ),
    ]
    values = {
        "patient_name": PATIENT_NAMES[index],
        "callback_phone": PATIENT_PHONES[index],
        "callback_time": "weekday mornings",
        "handoff_reason": reason or PATIENT_REASONS[index],
    }
    for name, text, next_question, next_slot in answers:
        events += [
            said(text, "inform"),
            slot(name, text),
            action("handoff_form"),
            slot(name, values[name]),
            slot("requested_slot", next_slot),
            *bot(next_question),
            action("action_listen"),
        ]
        if red_flag_turn == name:
            events += red_flag_turn_events()
    events += [
        said("/affirm", "affirm"),
        slot("handoff_consent", True),
        action("handoff_form"),
        slot("handoff_consent", True),
        *bot("Thank you. One moment while I pass this to the nurse line."),
        {"event": "active_loop", "name": None, "timestamp": float(next(_clock))},
        slot("requested_slot", None),
    ]
    return events


def red_flag_turn_events():
    entities = [{"entity": "red_flag", "value": "urgent"}, {"entity": "red_flag_phrase", "value": "hot and swollen"}]
    return [
        said("the spot is hot and swollen", "faq", entities=entities),
        action("utter_red_flag_urgent"),
        *bot("That could need a nurse's attention soon. Would you like me to ask the nurse line to call you as well?"),
        action("action_listen"),
    ]


def render(message):
    """The text Rasa would send for a message, from domain.yml's response, its slots and the action's
    template variables; fails on any placeholder left unfilled."""
    variables = {
        name: spec.get("initial_value")
        for name, spec in DOMAIN["slots"].items()
        if spec.get("initial_value") is not None
    }
    variables.update({k: v for k, v in message.items() if k not in ("response", "text", "buttons", "template")})
    template = DOMAIN["responses"][message["response"]][0]["text"]
    names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    missing = names - set(variables)
    assert not missing, f"{message['response']} needs {missing}"
    return template.format(**variables)


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    monkeypatch.setenv("CLINIC_DATABASE_URL", url)
    get_settings.cache_clear()
    yield HandoffStore(url)
    get_settings.cache_clear()


def settings_file(tmp_path, monkeypatch, open_hours):
    raw = yaml.safe_load((ROOT / "clinic_settings.yml").read_text())
    raw["nurse_line"]["open_hours"] = open_hours
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CLINIC_SETTINGS_FILE", str(path))
    get_settings.cache_clear()


ALWAYS_OPEN = {day: "00:00-23:59:59" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


# ---- the offer ----


@pytest.mark.parametrize(
    "text,intent,kind",
    [
        ("i want to talk to a nurse", "request_nurse", "question"),
        ("can i book an appointment", "book_appointment", "scheduling"),
    ],
)
def test_the_offer_fits_why_the_patient_needs_a_nurse(text, intent, kind):
    messages, events = run_action(ActionOfferHandoff(), [action("action_listen"), said(text, intent)])
    assert events == [{"event": "slot", "timestamp": None, "name": "handoff_kind", "value": kind}]
    assert messages[0]["response"] == f"utter_offer_handoff_{kind}"
    text = render(messages[0])
    assert get_settings().nurse_line.phone in text and get_settings().nurse_line.hours_text in text
    assert "nurse line is" in text  # open now / closed and when it opens
    assert [b["payload"] for b in DOMAIN["responses"][messages[0]["response"]][0]["buttons"]] == ["/affirm", "/deny"]


def test_asking_for_a_nurse_after_the_not_helping_answer_is_a_didnt_help_handoff():
    not_helping = said("the injection didnt help at all", "faq")
    not_helping["parse_data"]["intent"]["full_retrieval_intent_name"] = "faq/not_helping"
    events = [
        action("action_listen"),
        not_helping,
        action("utter_faq"),
        *bot("The full benefit can take up to a week..."),
        action("action_listen"),
        said("/request_nurse", "request_nurse"),
    ]
    messages, returned = run_action(ActionOfferHandoff(), events)
    assert returned[0]["value"] == "didnt_help"
    assert messages[0]["response"] == "utter_offer_handoff_didnt_help"


def test_yes_to_the_urgent_warning_starts_an_urgent_handoff_without_asking_again():
    events = [action("action_listen"), *red_flag_turn_events(), said("/affirm", "affirm")]
    messages, returned = run_action(ActionOfferHandoff(), events)
    assert returned[0]["value"] == "urgent"
    assert messages[0]["response"] == "utter_handoff_urgent_start"
    assert "buttons" not in DOMAIN["responses"]["utter_handoff_urgent_start"][0]


def test_a_plain_yes_elsewhere_is_not_urgent():
    events = [
        action("action_listen"),
        said("hi", "greet"),
        action("utter_greet"),
        *bot("Hi"),
        action("action_listen"),
        said("/request_nurse", "request_nurse"),
    ]
    assert run_action(ActionOfferHandoff(), events)[1][0]["value"] == "question"


# ---- the form's validation ----


def validate(events):
    messages, returned = run_action(ValidateHandoffForm(), events, DOMAIN)
    return messages, {e["name"]: e["value"] for e in returned if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "typed,kept",
    [
        ("Marisol Quintanilla", "Marisol Quintanilla"),
        ("my name is Marisol Quintanilla", "Marisol Quintanilla"),
        ("Seán O'Brien-Ní", "Seán O'Brien-Ní"),
        ("<b>Marisol</b>", None),
        ("2125550147", None),
        ("x" * 120, None),
        ("one two three four five six seven", None),
    ],
)
def test_name_validation(typed, kept):
    messages, slots = validate(answered(conversation_until_form(), "patient_name", typed))
    assert slots["patient_name"] == kept
    if kept is None:
        assert [m["response"] for m in messages] == ["utter_invalid_patient_name"]
        assert render(messages[0])
    else:
        assert messages == []


@pytest.mark.parametrize(
    "typed,kept",
    [
        ("(212) 555-0147", "+12125550147"),
        ("617.555.0123", "+16175550123"),
        ("+1 415 555 0132", "+14155550132"),
        ("555-0147", None),
        ("call my cell", None),
        ("+44 20 7946 0958", None),
    ],
)
def test_phone_is_validated_and_normalised_for_the_us(typed, kept):
    events = conversation_until_form() + [
        slot("patient_name", "Marisol Quintanilla"),
        slot("requested_slot", "callback_phone"),
    ]
    messages, slots = validate(answered(events, "callback_phone", typed))
    assert slots["callback_phone"] == kept
    if kept is None:
        assert [m["response"] for m in messages] == ["utter_invalid_callback_phone"]
        assert "10-digit" in render(messages[0])


@pytest.mark.parametrize(
    "slot_name,typed,ok",
    [
        ("callback_time", "weekday mornings", True),
        ("callback_time", "", False),
        ("callback_time", "<img src=x>", False),
        ("handoff_reason", SCRIPT_PROBE + " my shoulder", True),  # kept as typed: the console escapes it
        ("handoff_reason", "x", False),
        ("handoff_reason", "word " * 400, False),
    ],
)
def test_time_and_reason(slot_name, typed, ok):
    events = conversation_until_form() + [slot("requested_slot", slot_name)]
    messages, slots = validate(answered(events, slot_name, typed))
    assert (slots[slot_name] is not None) == ok
    assert [m["response"] for m in messages] == ([] if ok else [f"utter_invalid_{slot_name}"])


def test_consent_must_be_an_explicit_yes():
    events = conversation_until_form() + [slot("requested_slot", "handoff_consent")]
    messages, slots = validate(answered(events, "handoff_consent", "maybe later", value="maybe later"))
    assert slots["handoff_consent"] is None
    assert [m["response"] for m in messages] == ["utter_invalid_handoff_consent"]


def test_the_last_answer_gets_a_reply_before_the_form_closes():
    events = conversation_until_form() + [
        slot(s, v)
        for s, v in [
            ("patient_name", "Marisol Quintanilla"),
            ("callback_phone", "+12125550147"),
            ("callback_time", "any time"),
            ("handoff_reason", "shoulder"),
            ("requested_slot", "handoff_consent"),
        ]
    ]
    events = answered(events, "handoff_consent", "/affirm", intent="affirm", value=True)
    messages, slots = validate(events)
    assert slots["handoff_consent"] is True
    assert [m["response"] for m in messages] == ["utter_handoff_sending"]


def test_yes_to_an_urgent_warning_during_the_form_marks_it_urgent_and_asks_again():
    events = conversation_until_form() + [
        slot("patient_name", "Marisol Quintanilla"),
        slot("requested_slot", "callback_phone"),
    ]
    events += red_flag_turn_events()
    events = answered(events, "callback_phone", "/affirm", intent="affirm")
    messages, slots = validate(events)
    assert slots == {"handoff_kind": "urgent", "callback_phone": None}
    assert [m["response"] for m in messages] == ["utter_handoff_marked_urgent"]


def test_a_red_flag_given_as_the_reason_is_kept_as_the_reason():
    events = conversation_until_form() + [slot("requested_slot", "handoff_reason")]
    events += red_flag_turn_events()
    messages, slots = validate(answered(events, "handoff_reason", "/affirm", intent="affirm"))
    assert slots == {"handoff_kind": "urgent", "handoff_reason": "the spot is hot and swollen"}
    assert [m["response"] for m in messages] == ["utter_handoff_marked_urgent"]


# ---- the submission ----


def submit(events):
    messages, returned = run_action(ActionSubmitHandoff(), events, DOMAIN)
    return messages, {e["name"]: e["value"] for e in returned if e.get("event") == "slot"}


def test_a_completed_form_is_recorded_with_its_conversation_then_confirmed(database):
    topic_question = said("does it hurt", "faq")
    topic_question["parse_data"]["intent"]["full_retrieval_intent_name"] = "faq/procedure"
    before = [topic_question, action("utter_faq"), *bot("You may feel some pain..."), action("action_listen")]
    events = completed_form(0, before=before, red_flag_turn="callback_time")
    messages, slots = submit(events)
    (handoff,) = database.list_handoffs()
    assert [m["response"] for m in messages][0].startswith("utter_handoff_submitted_")
    assert messages[0]["reference"] == handoff["reference"] == slots["handoff_reference"]
    text = render(messages[0])
    assert handoff["reference"] in text and "(212) 555-0147" in text and "will call you" in text
    assert all(slots[s] is None for s in FORM_SLOTS), "answers are cleared for a later request"
    assert handoff["patient_name"] == PATIENT_NAMES[0]
    assert handoff["callback_phone"] == PATIENT_PHONES[0]
    assert handoff["callback_time"] == "weekday mornings"
    assert handoff["reason"] == PATIENT_REASONS[0]
    assert handoff["kind"] == "question"
    assert handoff["topics"] == ["procedure"]
    assert handoff["urgency"] == "urgent"
    assert handoff["red_flags"][0]["severity"] == "urgent" and handoff["red_flags"][0]["phrase"] == "hot and swollen"
    transcript = handoff["transcript"]
    assert transcript[0] == {"who": "patient", "text": "does it hurt", "at": transcript[0]["at"]}
    assert transcript[4] == {"who": "patient", "text": "Yes, please call me", "at": transcript[4]["at"], "button": True}
    assert any(line["who"] == "patient" and line["text"] == PATIENT_NAMES[0] for line in transcript)
    assert all(datetime.fromisoformat(line["at"]).tzinfo for line in transcript)
    assert transcript[-1]["text"].startswith("Thank you. One moment")


def test_submitting_the_same_form_twice_creates_one_record(database):
    events = completed_form(1)
    first, first_slots = submit(events)
    second, second_slots = submit(events)
    assert database.count_handoffs() == 1
    assert first_slots["handoff_reference"] == second_slots["handoff_reference"]
    assert first[0]["reference"] == second[0]["reference"]
    # A new request later in the same conversation is a new form activation, so a new record.
    later = events + [slot("handoff_reference", first_slots["handoff_reference"])] + completed_form(1)[1:]
    submit(later)
    assert database.count_handoffs() == 2


def test_the_kind_chosen_at_the_offer_is_recorded(database):
    submit(completed_form(1, kind_intent="book_appointment"))
    assert database.list_handoffs()[0]["kind"] == "scheduling"


def submit_with_database(monkeypatch, url):
    """Submits a completed form with the handoff store pointed at url."""
    monkeypatch.setenv("CLINIC_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return submit(completed_form(2))
    finally:
        get_settings.cache_clear()


def test_database_down_gives_the_honest_apology_and_no_reference(monkeypatch):
    messages, slots = submit_with_database(monkeypatch, "postgresql://nobody:nothing@127.0.0.1:1/handoffs")
    assert [m["response"] for m in messages] == ["utter_service_trouble"]
    assert "reference" not in messages[0]
    assert slots.get("handoff_reference") is None
    text = render(messages[0])
    assert "haven't passed anything on" in text and "will call you" not in text
    assert get_settings().nurse_line.phone in text


def test_unwritable_database_path_gives_the_apology(monkeypatch):
    messages, slots = submit_with_database(monkeypatch, "sqlite:////proc/tpi-no-such-dir/handoffs.db")
    assert [m["response"] for m in messages] == ["utter_service_trouble"]
    assert "handoff_reference" not in slots


def test_no_consent_no_record(database):
    events = completed_form(0) + [slot("handoff_consent", None)]
    messages, _ = submit(events)
    assert [m["response"] for m in messages] == ["utter_handoff_incomplete"]
    assert database.count_handoffs() == 0
    assert "will call" not in render(messages[0])


def test_outside_hours_the_patient_is_told_when_the_line_opens(database, tmp_path, monkeypatch):
    today = datetime.now(timezone.utc).astimezone(__import__("zoneinfo").ZoneInfo(get_settings().nurse_line.timezone))
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    settings_file(tmp_path, monkeypatch, {days[(today.weekday() + 2) % 7]: "09:00-12:00"})
    try:
        messages, _ = submit(completed_form(3))
        line = get_settings().nurse_line
        expected = callback_window(line).next_opening
    finally:
        get_settings.cache_clear()
    assert messages[0]["response"] == "utter_handoff_submitted_closed"
    assert messages[0]["next_opening"] == expected and "at 9:00 am" in expected
    assert "after it opens again " + expected in render(messages[0])


def test_inside_hours_the_patient_is_told_the_call_comes_during_hours(database, tmp_path, monkeypatch):
    settings_file(tmp_path, monkeypatch, ALWAYS_OPEN)
    try:
        messages, _ = submit(completed_form(3))
    finally:
        get_settings.cache_clear()
    assert messages[0]["response"] == "utter_handoff_submitted_open"


def test_a_line_with_no_hours_promises_no_time(database, tmp_path, monkeypatch):
    settings_file(tmp_path, monkeypatch, {})
    try:
        messages, _ = submit(completed_form(3))
    finally:
        get_settings.cache_clear()
    assert messages[0]["response"] == "utter_handoff_submitted_unscheduled"


def test_next_opening_is_described_in_the_clinics_time():
    line = load_settings().nurse_line
    friday_evening = datetime(2025, 1, 3, 23, 0, tzinfo=timezone.utc)  # 6 pm in New York
    assert callback_window(line, friday_evening).next_opening == "Monday at 8:00 am (New York time)"
    monday_early = datetime(2025, 1, 6, 11, 0, tzinfo=timezone.utc)  # 6 am in New York
    assert callback_window(line, monday_early).next_opening == "today at 8:00 am (New York time)"
    assert callback_window(line, datetime(2025, 1, 6, 15, 0, tzinfo=timezone.utc)).open_now
    opening = line.next_opening(datetime(2025, 1, 6, 23, 0, tzinfo=timezone.utc))
    assert re.match(r"tomorrow at 8:00 am", describe_opening(opening, datetime(2025, 1, 6, 23, 0, tzinfo=timezone.utc)))


@pytest.mark.parametrize("typed", ["stop", "Cancel please", "never mind"])
def test_stop_words_end_the_form_even_when_not_read_as_deny(typed, database):
    events = answered(conversation_until_form(), "patient_name", typed, intent="faq")
    messages, slots = validate(events)
    assert [m["response"] for m in messages] == ["utter_handoff_stopped"]
    assert slots["requested_slot"] is None and all(slots[s] is None for s in FORM_SLOTS)
    # The form then closes and the completion rule runs the submission, which must stay silent
    # and record nothing: the patient has had their answer.
    closed = events + [
        action("handoff_form"),
        *[slot(s, None) for s in FORM_SLOTS],
        {
            "event": "bot",
            "text": "Okay, I haven't sent anything.",
            "metadata": {"utter_action": "utter_handoff_stopped"},
            "timestamp": float(next(_clock)),
        },
        {"event": "active_loop", "name": None, "timestamp": float(next(_clock))},
        slot("requested_slot", None),
    ]
    submitted, _ = submit(closed)
    assert submitted == [] and database.count_handoffs() == 0


def test_a_reason_that_mentions_stopping_is_still_a_reason():
    _, slots = validate(answered(conversation_until_form(), "handoff_reason", "the pain wont stop"))
    assert slots["handoff_reason"] == "the pain wont stop"


def test_a_deny_is_left_to_the_stop_rule():
    # Nothing validated, so Rasa rejects the form and the rule in data/rules/handoff.yml ends it.
    events = conversation_until_form() + [said("no", "deny")]
    assert validate(events) == ([], {})


@pytest.mark.parametrize("activation", [True, False])
def test_the_yes_that_opened_an_urgent_form_is_not_taken_as_a_second_warning(activation):
    # As Rasa sends them when the form starts: once with its activation after the "yes", once without.
    events = [
        action("action_listen"),
        *red_flag_turn_events(),
        said("/affirm", "affirm"),
        action("action_offer_handoff"),
        *bot("Okay, I'll ask the nurse line to call you and mark it as urgent."),
        slot("handoff_kind", "urgent"),
    ]
    if activation:
        events.append({"event": "active_loop", "name": "handoff_form", "timestamp": float(next(_clock))})
    events += [slot("requested_slot", None), action("handoff_form")]
    assert validate(events) == ([], {})


# ---- replays of conversations recorded from the real bot (tests/data/trackers/) ----


def upto_user_message(events, text, occurrence=-1):
    """The events up to a patient's message and the slot candidates Rasa extracted from it."""
    index = [i for i, e in enumerate(events) if e.get("event") == "user" and e.get("text") == text][occurrence]
    end = index + 1
    while end < len(events) and events[end].get("event") in ("slot", "user_featurization"):
        end += 1
    return [e for e in events[:end] if e.get("event") != "user_featurization"]


def test_recorded_urgent_conversation_is_handed_over_faithfully(database):
    events = load_recorded("handoff_urgent_after_topic")
    messages, slots = submit(events)
    (handoff,) = database.list_handoffs()
    assert messages[0]["reference"] == handoff["reference"] == slots["handoff_reference"]
    assert (handoff["kind"], handoff["urgency"]) == ("urgent", "urgent")
    assert handoff["topics"] == ["procedure"]
    assert [(f["severity"], f["phrase"]) for f in handoff["red_flags"]] == [("urgent", "pus")]
    assert (handoff["patient_name"], handoff["callback_phone"]) == (PATIENT_NAMES[1], PATIENT_PHONES[1])
    patient_lines = [line["text"] for line in handoff["transcript"] if line["who"] == "patient"]
    assert patient_lines[:3] == [
        "does the shot hurt",
        "theres pus coming out of the injection site",
        "Yes, ask a nurse to call me",
    ]
    assert patient_lines[-1] == "Yes, that's okay"
    assert handoff["transcript"][-1]["text"].startswith("Thank you. One moment")


def test_recorded_didnt_help_conversation(database):
    events = load_recorded("handoff_didnt_help")
    offer_messages, offer_events = run_action(ActionOfferHandoff(), upto_user_message(events, "/request_nurse"))
    assert offer_events[0]["value"] == "didnt_help"
    assert offer_messages[0]["response"] == "utter_offer_handoff_didnt_help"
    phone_messages, phone_slots = validate(upto_user_message(events, "555"))
    assert phone_slots == {"callback_phone": None}
    assert [m["response"] for m in phone_messages] == ["utter_invalid_callback_phone"]
    last_messages, last_slots = validate(upto_user_message(events, "/affirm"))
    assert last_slots == {"handoff_consent": True}
    assert [m["response"] for m in last_messages] == ["utter_handoff_sending"]
    submit(events)
    (handoff,) = database.list_handoffs()
    assert handoff["kind"] == "didnt_help" and handoff["urgency"] == "routine"
    assert handoff["topics"] == ["not_helping"]
    assert handoff["callback_phone"] == PATIENT_PHONES[0]
    assert "Talk to a nurse" in [line["text"] for line in handoff["transcript"] if line["who"] == "patient"]
