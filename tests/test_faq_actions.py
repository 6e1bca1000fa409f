"""The FAQ actions, run on replayed conversations."""

import yaml

from actions.faq import ActionClarifyTopic, ActionTopicFit
from clinic.settings import PROJECT_ROOT
from tests.replay import run_action, user_event

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def fit_texts(messages):
    """The English text of each fit said, with its {value} filled as Rasa fills it."""
    return [DOMAIN["responses"][m["response"]][0]["text"].format(value=m.get("value", "")) for m in messages]


def selector(*ranked):
    """A response selector result with the given (topic, confidence) ranking."""
    ranking = [{"intent_response_key": f"faq/{t}", "confidence": c} for t, c in ranked]
    return {
        "faq": {
            "response": {"intent_response_key": f"faq/{ranked[0][0]}", "confidence": ranked[0][1]},
            "ranking": ranking,
        }
    }


def faq_question(text, ranked, entities=()):
    return user_event(text, "faq", list(entities), response_selector=selector(*ranked))


def test_a_named_usual_site_gets_a_yes():
    events = [
        faq_question("do you inject knees", [("injection_sites", 0.97)], [{"entity": "body_part", "value": "knee"}]),
        {"event": "action", "name": "utter_faq"},
    ]
    messages, _ = run_action(ActionTopicFit(), events, DOMAIN)
    assert fit_texts(messages) == ["Yes, the knee is one of the usual places for these injections."]


def test_an_unlisted_site_is_not_promised():
    events = [
        faq_question("can you inject my jaw", [("injection_sites", 0.9)], [{"entity": "body_part", "value": "jaw"}])
    ]
    messages, _ = run_action(ActionTopicFit(), events, DOMAIN)
    assert "don't list the jaw" in fit_texts(messages)[0]
    assert "nurse line" in fit_texts(messages)[0]


def test_botox_is_confirmed_as_a_possible_medicine():
    events = [
        faq_question("do you use botox", [("medications", 0.9)], [{"entity": "medication", "value": "botulinum_toxin"}])
    ]
    messages, _ = run_action(ActionTopicFit(), events, DOMAIN)
    assert "Botox" in fit_texts(messages)[0]


def test_parts_that_share_an_answer_get_it_once():
    parts = [{"entity": "body_part", "value": v} for v in ("neck", "back")]
    events = [faq_question("does it work for neck and back pain", [("conditions_treated", 0.95)], parts)]
    messages, _ = run_action(ActionTopicFit(), events, DOMAIN)
    assert len(messages) == 1 and "neck, back, arms and legs" in fit_texts(messages)[0]


def test_no_entity_or_no_fit_says_nothing_more():
    assert run_action(ActionTopicFit(), [faq_question("how soon does it work", [("onset", 0.99)])], DOMAIN)[0] == []
    knee_onset = faq_question(
        "how soon will my knee feel better", [("onset", 0.99)], [{"entity": "body_part", "value": "knee"}]
    )
    assert run_action(ActionTopicFit(), [knee_onset], DOMAIN)[0] == []


def test_an_unsure_question_offers_the_likely_topics_and_a_nurse():
    events = [
        user_event(
            "how long",
            "nlu_fallback",
            response_selector=selector(("duration", 0.45), ("recovery", 0.4), ("procedure", 0.1), ("onset", 0.03)),
        )
    ]
    messages, _ = run_action(ActionClarifyTopic(), events, DOMAIN)
    assert messages[0]["response"] == "utter_clarify_topic"
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["faq:duration", "faq:recovery", "faq:procedure", "/request_nurse"]


def test_gibberish_asks_to_rephrase():
    messages, _ = run_action(ActionClarifyTopic(), [user_event("asdfgh", "nlu_fallback")], DOMAIN)
    assert messages[0]["response"] == "utter_clarify_rephrase"


def test_a_second_miss_in_a_row_hands_over_to_the_nurse_line():
    events = [
        user_event("blah", "nlu_fallback"),
        {"event": "action", "name": "action_clarify_topic"},
        {"event": "bot", "text": "Did you mean..."},
        {"event": "action", "name": "action_listen"},
        user_event("still blah", "nlu_fallback"),
    ]
    messages, _ = run_action(ActionClarifyTopic(), events, DOMAIN)
    assert messages[0]["response"] == "utter_clarify_give_up"


def test_a_miss_after_an_answer_is_a_first_miss_again():
    events = [
        user_event("blah", "nlu_fallback"),
        {"event": "action", "name": "action_clarify_topic"},
        {"event": "action", "name": "action_listen"},
        faq_question("faq:onset", [("onset", 1.0)]),
        {"event": "action", "name": "utter_faq"},
        {"event": "action", "name": "action_listen"},
        user_event("blah again", "nlu_fallback"),
    ]
    messages, _ = run_action(ActionClarifyTopic(), events, DOMAIN)
    assert messages[0]["response"] == "utter_clarify_rephrase"


def test_a_spanish_fit_names_the_part_in_spanish():
    from clinic.topics import load_contract

    topic = load_contract().topics["injection_sites"]
    name, filled = topic.fit_for("body_part", "hip", DOMAIN["responses"], "es")
    spanish = next(v for v in DOMAIN["responses"][name] if v.get("condition"))
    assert filled == {"value": "la cadera"} and "no mencionan la cadera" in spanish["text"].format(**filled)


def test_the_nurse_button_speaks_the_conversations_language():
    events = [
        {"event": "slot", "name": "language", "value": "es"},
        user_event("cuanto", "nlu_fallback", response_selector=selector(("duration", 0.45), ("recovery", 0.4))),
    ]
    messages, _ = run_action(ActionClarifyTopic(), events, DOMAIN)
    assert messages[0]["buttons"][-1] == {"title": "Hablar con una enfermera", "payload": "/request_nurse"}
    assert messages[0]["buttons"][0]["title"] == "¿Cuánto dura el alivio?"
