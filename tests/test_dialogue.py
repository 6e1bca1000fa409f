"""Follow-ups in context, messages in parts, and the context policy's decisions (clinic/dialogue/),
on event dicts as Rasa keeps them: no servers needed."""

import pytest

from clinic.dialogue.context import Context, context_from_events
from clinic.dialogue.followups import NURSE_LINE, Reading, load_rules, resolve
from clinic.dialogue.parts import split_parts, topics_to_answer
from clinic.dialogue.routing import ANSWER_IN_CONTEXT, START_HANDOFF, decide, looks_like_details


def user(text, intent="faq", topic=None, entities=()):
    parse = {"text": text, "intent": {"name": intent}, "entities": list(entities)}
    if topic:
        parse["response_selector"] = {"faq": {"ranking": [{"intent_response_key": f"faq/{topic}", "confidence": 0.9}]}}
    return {"event": "user", "text": text, "parse_data": parse}


def bot(response, text="..."):
    return {"event": "bot", "text": text, "metadata": {"utter_action": response}}


def action(name):
    return {"event": "action", "name": name}


def after(topic):
    return Context(last_topic=topic, turns_since_topic=1, topics=[topic])


# ---- the context ----


def test_the_context_is_what_stood_before_the_latest_message():
    events = [
        action("action_listen"),
        user(
            "which parts can you inject", topic="injection_sites", entities=[{"entity": "body_part", "value": "knee"}]
        ),
        action("utter_faq"),
        bot("utter_faq/injection_sites"),
        action("action_listen"),
        user("what about the neck?", entities=[{"entity": "body_part", "value": "neck"}]),
    ]
    context = context_from_events(events)
    assert context.last_topic == "injection_sites" and context.turns_since_topic == 1
    assert context.body_part == "knee", "the latest message is not its own context"
    assert context.previous_responses == ["utter_faq/injection_sites"] and context.previous_actions == ["utter_faq"]


def test_a_topic_chosen_by_an_action_counts_and_old_topics_fade():
    events = [
        user("x"),
        action("action_answer_in_context"),
        {"event": "slot", "name": "last_topic", "value": "aftercare"},
        bot("utter_detail_aftercare_alcohol"),
        user("hi", "greet"),
        bot("utter_greet"),
        user("ok", "affirm"),
        bot("utter_affirm_idle"),
        user("and then?", "nlu_fallback"),
    ]
    context = context_from_events(events)
    assert context.last_topic == "aftercare" and context.turns_since_topic == 3
    assert context.recent_topic(3) == "aftercare" and context.recent_topic(2) is None


# ---- follow-ups ----


@pytest.mark.parametrize(
    "last,text,intent,nlu_topic,entities,topic,detail",
    [
        (
            "injection_sites",
            "what about the neck?",
            "faq",
            "injection_sites",
            [("body_part", "neck")],
            "injection_sites",
            None,
        ),
        (
            "conditions_treated",
            "and my legs?",
            "nlu_fallback",
            None,
            [("body_part", "leg")],
            "conditions_treated",
            None,
        ),
        ("onset", "and how long does that last?", "faq", "duration", [], "duration", "how_long"),
        ("recovery", "how long does that last?", "faq", "duration", [], "recovery", "how_long"),
        ("risks", "how long do they last?", "faq", "duration", [], "risks", "how_long"),
        ("recovery", "is that normal?", "faq", "risks", [], "recovery", "normal"),
        ("procedure", "is that to be expected?", "nlu_fallback", None, [], "procedure", "normal"),
        ("aftercare", "what about a couple beers?", "out_of_scope", None, [], "aftercare", "alcohol"),
        ("aftercare", "and a hot tub?", "nlu_fallback", None, [], "aftercare", "heat"),
        ("recovery", "what about the gym?", "faq", "aftercare", [], "recovery", "exercise"),
        ("aftercare", "and before?", "nlu_fallback", None, [], "preparation", None),
        ("preparation", "what about afterwards?", "nlu_fallback", None, [], "aftercare", None),
        ("onset", "what if it doesn't work?", "faq", "onset", [], "not_helping", None),
        ("treatment_series", "why?", "ask_why", None, [], "treatment_series", None),
        ("what_is_trigger_point", "tell me more", "nlu_fallback", None, [], "what_is_trigger_point", None),
        ("onset", "how soon will it work?", "faq", "onset", [], "onset", None),
        # Spanish (conversation set A, 2026-12-05)
        ("injection_sites", "¿y en el cuello?", "nlu_fallback", None, [("body_part", "neck")], "injection_sites", None),
        ("recovery", "¿cuánto tiempo dura eso?", "faq", "duration", [], "recovery", "how_long"),
        ("risks", "y cuanto duran?", "out_of_scope", None, [], "risks", "how_long"),
        ("procedure", "¿es normal?", "faq", "recovery", [], "procedure", "normal"),
        ("risks", "me debo preocupar?", "faq", "preparation", [], "risks", "normal"),
        ("aftercare", "¿y unas cervezas?", "nlu_fallback", None, [], "aftercare", "alcohol"),
        ("aftercare", "y antes?", "nlu_fallback", None, [], "preparation", None),
        ("preparation", "¿y después?", "nlu_fallback", None, [], "aftercare", None),
        ("medications", "¿y es seguro?", "out_of_scope", None, [], "risks", None),
        ("what_is_tpi", "y que tiene adentro?", "nlu_fallback", None, [], "medications", None),
        ("what_is_trigger_point", "¿y por qué salen?", "nlu_fallback", None, [], "what_is_trigger_point", None),
        ("treatment_series", "cada cuanto?", "nlu_fallback", None, [], "treatment_series", None),
    ],
)
def test_follow_ups_resolve_against_the_last_topic(last, text, intent, nlu_topic, entities, topic, detail):
    resolution = resolve(Reading(text, intent, nlu_topic, tuple(entities)), after(last))
    assert resolution is not None and resolution.kind == "topic"
    assert (resolution.topic, resolution.detail) == (topic, detail)


@pytest.mark.parametrize(
    "last,text,intent,nlu_topic",
    [
        ("what_is_tpi", "does it hurt?", "faq", "procedure"),
        ("treatment_series", "what about physical therapy?", "faq", "physical_therapy"),
        ("aftercare", "what about my insurance?", "out_of_scope", None),
        ("onset", "hi", "greet", None),
        ("onset", "can a nurse call me back?", "request_callback", None),
    ],
)
def test_a_message_that_stands_on_its_own_is_not_a_follow_up(last, text, intent, nlu_topic):
    assert resolve(Reading(text, intent, nlu_topic), after(last)) is None


def test_a_follow_up_form_overrides_an_odd_reading_but_not_a_request():
    resolution = resolve(Reading("is that normal", "deny"), after("recovery"))
    assert resolution is not None and (resolution.topic, resolution.detail) == ("recovery", "normal")
    assert resolve(Reading("is that normal? call me back", "request_callback"), after("recovery")) is None
    assert (
        resolve(Reading("what about the neck", "affirm", entities=(("body_part", "neck"),)), after("injection_sites"))
        is None
    )


def test_an_unclear_anaphora_leans_on_the_last_topic_when_the_nlu_has_it_among_its_guesses():
    why = Reading("why do they form?", "nlu_fallback", candidates=(("procedure", 0.48), ("what_is_trigger_point", 0.3)))
    assert resolve(why, after("what_is_trigger_point")).topic == "what_is_trigger_point"
    treat = Reading("how do you treat them?", "nlu_fallback", candidates=(("what_is_tpi", 0.6), ("procedure", 0.2)))
    assert resolve(treat, after("what_is_trigger_point")).topic == "what_is_tpi"


def test_without_a_recent_topic_nothing_is_resolved():
    assert resolve(Reading("is that normal?", "nlu_fallback"), Context()) is None
    old = Context(last_topic="recovery", turns_since_topic=load_rules().recent_turns + 1)
    assert resolve(Reading("is that normal?", "nlu_fallback"), old) is None


@pytest.mark.parametrize(
    "text",
    [
        "sorry what was that number again?",
        "what was the number?",
        "wait what was the number again",
        "can i get the number to call?",
        "perdón, ¿cuál era el número?",
        "¿me pasa el número de las enfermeras?",
        "cual es el numero de la clinica otra vez",
    ],
)
def test_the_number_again(text):
    resolution = resolve(Reading(text, "nlu_fallback"), Context())
    assert resolution is not None and resolution.kind == NURSE_LINE


def test_the_reference_again_only_after_a_request_was_sent():
    assert resolve(Reading("what was my reference again?", "nlu_fallback"), Context()) is None
    resolution = resolve(Reading("what was my reference again?", "nlu_fallback"), Context(reference="TPI-ABCDE"))
    assert resolution is not None and resolution.kind == "reference"


# ---- messages in parts ----


def test_a_message_is_split_into_sentences_and_asked_clauses():
    parts = split_parts("no fever, no redness, just sore - when can I go back to the gym? and how long does it last")
    assert [(p.text, p.question) for p in parts] == [
        ("no fever, no redness, just sore", False),
        ("when can I go back to the gym?", True),
        ("how long does it last", True),
    ]
    assert len(split_parts("what are the risks of the injection")) == 1


def parsed(intent, topic, parts):
    parse = {
        "intent": {"name": intent},
        "question_parts": [{"text": t, "question": q, "topic": pt, "confidence": c} for t, q, pt, c in parts],
    }
    if topic:
        parse["response_selector"] = {"faq": {"ranking": [{"intent_response_key": f"faq/{topic}", "confidence": 0.8}]}}
    return parse


def test_two_questions_are_answered_the_more_important_first():
    parse = parsed(
        "faq", "onset", [("how soon does it work?", True, "onset", 0.8), ("what are the risks?", True, "risks", 0.7)]
    )
    assert topics_to_answer(parse) == ["risks", "onset"]


def test_a_statement_before_the_question_does_not_decide_the_topic():
    parse = parsed(
        "faq",
        "risks",
        [("no fever, no redness", False, "risks", 0.6), ("when can i go to the gym?", True, "recovery", 0.7)],
    )
    assert topics_to_answer(parse) == ["recovery"]
    same = parsed(
        "faq", "recovery", [("no fever", False, "risks", 0.6), ("when can i go to the gym?", True, "recovery", 0.7)]
    )
    assert topics_to_answer(same) == []


def test_unsure_parts_and_requests_are_answered_as_a_whole():
    assert (
        topics_to_answer(
            parsed("faq", "onset", [("how soon?", True, "onset", 0.4), ("and risks?", True, "risks", 0.3)])
        )
        == []
    )
    request = parsed(
        "request_callback", None, [("call me back", False, "other", 0.9), ("what are the risks?", True, "risks", 0.9)]
    )
    assert topics_to_answer(request) == []


# ---- the context policy's decisions ----


@pytest.mark.parametrize(
    "text,intent,expected",
    [
        ("Rosa Delgado", "out_of_scope", START_HANDOFF),
        ("Wendy Alvarez", "goodbye", START_HANDOFF),
        ("bye", "goodbye", None),
        ("312 555 0166", "nlu_fallback", START_HANDOFF),
        ("can i talk to a nurse", "request_nurse", START_HANDOFF),
        ("yes", "affirm", None),  # the rule takes a yes to the offer
        ("what are the risks?", "faq", None),
        ("maybe later", "nlu_fallback", None),
    ],
)
def test_answers_to_the_offer(text, intent, expected):
    context = Context(previous_actions=["action_offer_handoff"], previous_responses=["utter_offer_handoff_question"])
    assert decide({"text": text, "intent": {"name": intent}}, context, set()) == expected


def test_a_yes_to_the_proposal_after_a_second_miss_starts_the_form():
    context = Context(previous_actions=["action_clarify_topic"], previous_responses=["utter_clarify_give_up"])
    assert decide({"text": "yes", "intent": {"name": "affirm"}}, context, set()) == START_HANDOFF


def test_follow_ups_go_to_the_answer_in_context_only_when_the_context_changes_the_reply():
    onset = after("onset")
    new_topic = {
        "text": "and how long does that last?",
        "intent": {"name": "faq"},
        "response_selector": {"faq": {"ranking": [{"intent_response_key": "faq/duration", "confidence": 0.9}]}},
    }
    assert decide(new_topic, onset, set()) is None, "the rules answer it"
    normal = {"text": "is that normal?", "intent": {"name": "nlu_fallback"}}
    assert decide(normal, onset, set()) == ANSWER_IN_CONTEXT
    again = {
        "text": "how soon does it work",
        "intent": {"name": "faq"},
        "response_selector": {"faq": {"ranking": [{"intent_response_key": "faq/onset", "confidence": 0.9}]}},
    }
    assert decide(again, onset, set()) == ANSWER_IN_CONTEXT


@pytest.mark.parametrize(
    "text,details",
    [
        ("Sam Lee", True),
        ("dana lee", True),
        ("(312) 555-0147", True),
        ("ok", False),
        ("what about it", False),
        ("no thanks", False),
    ],
)
def test_details_typed_after_the_offer(text, details):
    assert looks_like_details(text) is details


@pytest.mark.parametrize(
    "text,asks",
    [
        ("can someone call me at 312-555-0188?", True),
        ("please call me back at 206 555 0143 after 2 pm", True),
        ("have a nurse ring me", True),
        ("I'm Sam, call me on 303-555-0111 tomorrow", True),
        ("is parking free? you can call me at 312-555-0100", False),
        ("when will the nurse call me?", False),
        ("what is the callback number", False),
        ("how much does it cost my number is 312-555-0100", False),
    ],
)
def test_a_call_back_asked_for_in_so_many_words(text, asks):
    from clinic.dialogue.routing import asks_for_a_call

    assert asks_for_a_call(text) is asks


@pytest.mark.parametrize("name", ["Ana de la Cruz", "José del Río", "Sato Testperson"])
def test_family_names_with_particles_are_names_on_both_sides(name):
    from clinic.handoff.form_answers import looks_like_name

    assert looks_like_details(name) and looks_like_name(name)
