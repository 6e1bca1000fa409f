"""The medical content: every topic of the contract is covered, sourced, short, and states the facts
as the clinic's documents give them."""

import re
from pathlib import Path

import pytest
import yaml

from clinic.settings import load_settings
from clinic.tools.domain_settings import render
from clinic.tools.evaluation import training_examples
from clinic.topics import load_contract

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
RESPONSES = DOMAIN["responses"]
CONTRACT = load_contract()
CONTRACT_IDS = [
    "what_is_trigger_point",
    "what_is_tpi",
    "conditions_treated",
    "injection_sites",
    "medications",
    "procedure",
    "risks",
    "onset",
    "duration",
    "treatment_series",
    "recovery",
    "aftercare",
    "not_helping",
    "candidacy",
    "preparation",
    "physical_therapy",
]
OTHER_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "request_nurse",
    "book_appointment",
    "out_of_scope",
    "request_callback",
    "nurse_line_number",
    "ask_why",
]


EXAMPLES = training_examples()


def answer(topic_id):
    return RESPONSES[f"utter_faq/{topic_id}"][0]["text"]


def body(topic_id):
    """The answer without its source line."""
    return answer(topic_id).split("From:")[0]


def test_the_contract_is_exactly_the_sixteen_topics():
    assert list(CONTRACT.topics) == CONTRACT_IDS
    faq_intents = sorted(i.split("/", 1)[1] for i in EXAMPLES if i.startswith("faq/"))
    assert faq_intents == sorted(CONTRACT_IDS)
    assert sorted(r.split("/", 1)[1] for r in RESPONSES if r.startswith("utter_faq/")) == sorted(CONTRACT_IDS)


@pytest.mark.parametrize("topic_id", CONTRACT_IDS)
def test_every_topic_has_varied_examples_and_a_sourced_short_answer(topic_id):
    examples = EXAMPLES[f"faq/{topic_id}"]
    assert len(examples) >= 30
    assert any(len(e.split()) <= 4 for e in examples), "very short questions too"
    assert any(len(e.split()) >= 18 for e in examples), "long questions with personal context too"
    text = answer(topic_id)
    sources = re.findall(r"From: (.+)$", text.strip())
    assert sources, "each answer names its source"
    for source in sources[0].split("; "):
        assert source in CONTRACT.sources.values()
    assert len(body(topic_id).split()) <= 95, "answers stay short"


@pytest.mark.parametrize("intent", OTHER_INTENTS)
def test_other_intents_have_examples(intent):
    assert len(EXAMPLES[intent]) >= 15


def test_lay_words_and_typos_are_in_the_training_data():
    everything = " ".join(" ".join(v) for v in EXAMPLES.values()).lower()
    for word in ["shot", "knot", "numbing", "steroid", "botox", "lidocaine"]:
        assert word in everything


@pytest.mark.parametrize("topic_id", CONTRACT_IDS)
def test_answers_are_plain_language(topic_id):
    """About a 6th-8th grade level: short sentences, mostly short words (Flesch-Kincaid grade)."""
    text = body(topic_id)
    sentences = [s for s in re.split(r"[.!?:;]+\s", text) if s.strip()]
    words = re.findall(r"[A-Za-z']+", text)
    syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w.lower().rstrip("e")))) for w in words)
    grade = 0.39 * len(words) / len(sentences) + 11.8 * syllables / len(words) - 15.59
    assert grade <= 10.0, f"{topic_id}: grade {grade:.1f}"


def test_onset_as_the_documents_give_it():
    assert "24 to 72 hours" in body("onset")
    assert "up to 1 week" in body("onset")


def test_duration_as_the_documents_give_it():
    assert "days to months" in body("duration")


def test_recovery_as_the_documents_give_it():
    assert "within 72 hours" in body("recovery")
    assert "sore for several days" in body("recovery")


def test_aftercare_gives_the_whole_list():
    text = body("aftercare").lower()
    for item in [
        "rest",
        "ice",
        "hot baths",
        "hot tubs",
        "heating pads",
        "alcohol",
        "follow-up",
        "infection",
        "regular medicines",
    ]:
        assert item in text, item


def test_risks_give_the_whole_list():
    text = body("risks").lower()
    for item in [
        "bleeding",
        "bruising",
        "dizzy",
        "skin color",
        "pain",
        "numbness",
        "infection",
        "muscle or nerve damage",
        "allergic reaction",
        "weakening",
        "thinner",
        "days to weeks",
    ]:
        assert item in text, item


def test_medications_as_the_documents_give_them():
    text = body("medications").lower()
    for item in ["local anesthetic", "corticosteroid", "botulinum toxin a", "botox"]:
        assert item in text


def test_injection_sites_as_the_documents_give_them():
    text = body("injection_sites").lower()
    for site in ["spine", "neck", "knee", "shoulder", "elbow"]:
        assert site in text


def test_where_the_documents_are_silent_the_answer_says_so():
    assert "don't give doses" in body("medications")
    assert "don't give an exact time" in body("procedure")
    assert "don't list who" in body("candidacy")
    # The clinic page's list of other conditions is broken: we say less, not more.
    assert "doesn't name them" in body("conditions_treated")


def test_no_invented_numbers():
    """Every number in an answer appears in the documents' facts (24, 72 hours, 1 week, 3 days)."""
    allowed = {"24", "72", "1", "3", "A"}
    for topic_id in CONTRACT_IDS:
        assert set(re.findall(r"\b\d+\b", body(topic_id))) <= allowed, topic_id


@pytest.mark.parametrize("topic_id", CONTRACT_IDS)
def test_follow_up_buttons_name_real_topics(topic_id):
    buttons = RESPONSES[f"utter_faq/{topic_id}"][0].get("buttons") or []
    assert 2 <= len(buttons) <= 3
    for button in buttons:
        if button["payload"].startswith("faq:"):
            follow_up = CONTRACT.topic_from_payload(button["payload"])
            assert follow_up is not None and follow_up.id != topic_id
            assert button["title"] == follow_up.title


def test_settings_reach_the_responses_through_domain_slots():
    slots = DOMAIN["slots"]
    for name, value in load_settings().response_slots().items():
        assert slots[name]["initial_value"] == value, f"{name}: run `make train`"
    for key in ["utter_red_flag_emergency", "utter_out_of_scope", "utter_service_trouble"]:
        assert "{" in RESPONSES[key][0]["text"], "numbers come from the settings, never typed in"


def test_settings_sync_rewrites_only_the_values():
    text = (ROOT / "domain.yml").read_text()
    changed = render(text, {"nurse_line_phone": "(555) 010-0123", "emergency_number": "112"})
    assert 'initial_value: "(555) 010-0123"' in changed and 'initial_value: "112"' in changed
    assert len(changed.splitlines()) == len(text.splitlines())
    assert render(changed, load_settings().response_slots()) == text


def test_greeting_says_what_it_can_and_cannot_do():
    text = RESPONSES["utter_greet"][0]["text"].lower()
    assert "not a person" in text and "can't give medical advice" in text and "{emergency_number}" in text
