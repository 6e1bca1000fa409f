"""The conversation's language: detection per message, sticky, and every reply in Spanish too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from clinic.nlu.language import DETECTED_LANGUAGE, LanguageDetector
from clinic.text.language import get_detector, plain, supported_language
from clinic.tools.evaluation import SPANISH_SETS, load_examples, training_examples
from tests.conftest import ROOT

SPANISH_NLU = ROOT / "data" / "nlu" / "es"


@pytest.fixture(scope="module")
def detector():
    return get_detector()


@pytest.mark.parametrize(
    "text",
    ["sí", "si", "ok", "no", "(312) 555-0147", "3125550147", "Botox?", "lol", "mañana", "Maria Lopez Garcia", ""],
)
def test_short_or_ambiguous_messages_never_change_the_language(detector, text):
    assert detector.guess(text).language is None


@pytest.mark.parametrize(
    "text, language",
    [
        ("¿Duelen las inyecciones en puntos gatillo?", "es"),
        ("¿Cuánto tiempo dura el alivio?", "es"),
        ("quiero hablar con una enfermera por favor", "es"),
        ("cuanto tarda en hacer efecto el shot", "es"),
        ("me duele mucho la espalda", "es"),
        ("Hola!", "es"),
        ("buenas tardes", "es"),
        ("how long does the relief last", "en"),
        ("what is a trigger point injection?", "en"),
        ("English please", "en"),
        ("Quanto tempo dura o alívio da injeção?", "other"),
        ("Bonjour, est-ce que l'injection fait mal ?", "other"),
        ("Wie lange dauert die Wirkung der Spritze?", "other"),
    ],
)
def test_clear_messages_say_their_language(detector, text, language):
    assert detector.guess(text).language == language


def test_english_that_reads_like_another_language_is_not_taken_for_one(detector):
    # The detector alone reads these as Polish or Portuguese; their common English words say no.
    for text in ("why do i keep getting utis", "how quick do people bounce back", "do you treat hips"):
        assert detector.guess(text).language in (None, "en"), text


def test_spanish_training_examples_read_as_spanish_or_undecided(detector):
    examples = [t for texts in training_examples(SPANISH_NLU).values() for t in texts]
    assert len(examples) >= 500
    wrong = [t for t in examples if detector.guess(t).language in ("en", "other")]
    assert not wrong, wrong


def test_english_training_examples_never_turn_spanish(detector):
    english = [
        t
        for intent, texts in training_examples(ROOT / "data" / "nlu").items()
        for t in texts
        if intent != "out_of_scope"
    ]
    spanish = {t for texts in training_examples(SPANISH_NLU).values() for t in texts}
    flipped = [t for t in english if t not in spanish and detector.guess(t).language == "es"]
    assert len(flipped) <= 2, flipped


def test_widget_language_values():
    assert supported_language("es-MX") == "es"
    assert supported_language("ES") == "es"
    assert supported_language("en-US") == "en"
    assert supported_language("fr") is None
    assert supported_language(None) is None


def _component_entities(text, metadata=None):
    component = LanguageDetector.create(LanguageDetector.get_default_config(), None, None, None)
    message = Message({"text": text, "metadata": metadata})
    component.process([message])
    return {e["entity"]: e["value"] for e in message.get("entities") or []}, message


def test_component_sets_the_language_entity_only_when_the_message_says_it():
    assert _component_entities("¿Cuánto dura el alivio de la inyección?")[0] == {"language": "es"}
    assert _component_entities("ok")[0] == {}
    # The widget's choice counts when the message itself does not say.
    assert _component_entities("ok", {"language": "es"})[0] == {"language": "es"}
    assert _component_entities("sí", {"language": "klingon"})[0] == {}
    # A clear message wins over the metadata.
    assert _component_entities("how long does it last after the shot", {"language": "es"})[0] == {"language": "en"}
    entities, message = _component_entities("Quanto tempo dura o alívio da injeção?")
    assert entities == {"other_language": "pt"}
    assert message.get(DETECTED_LANGUAGE)["detected"] == "pt"
    # Payloads carry their own entities: the component leaves them alone.
    assert _component_entities('/greet{"language": "es"}')[0] == {}


# ---------------------------------------------------------------- the Spanish replies


def _responses():
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def _placeholders(text):
    return set(re.findall(r"\{(\w+)\}", text or ""))


def test_every_response_has_a_spanish_variation_marked_for_the_widget():
    for name, variations in _responses().items():
        if name == "utter_other_language":
            continue  # bilingual in itself
        english = [v for v in variations if not v.get("condition")]
        spanish = [v for v in variations if v.get("condition") == [{"type": "slot", "name": "language", "value": "es"}]]
        assert len(english) == 1 and len(spanish) == 1, name
        assert spanish[0].get("custom") == {"lang": "es"}, name
        # Same slots and action values; the hours in Spanish where the English gives the hours.
        wanted = {p.replace("nurse_line_hours", "nurse_line_hours_es") for p in _placeholders(english[0]["text"])}
        got = _placeholders(spanish[0]["text"]) - {"crisis_line_spanish"}
        assert got == wanted, name
        assert [b["payload"] for b in spanish[0].get("buttons") or []] == [
            b["payload"] for b in english[0].get("buttons") or []
        ], name


def test_spanish_faq_answers_name_their_sources_like_the_english_ones():
    for name, variations in _responses().items():
        if not name.startswith("utter_faq/"):
            continue
        english, spanish = variations[0]["text"], variations[1]["text"]
        sources_en = english.split("From: ", 1)[1]
        sources_es = spanish.split("Fuente: ", 1)[1]
        assert sources_en.count("general article") == sources_es.count("artículo general"), name
        assert sources_en.count("patient page") == sources_es.count("página de nuestra clínica"), name
        # Numbers (hours, days, weeks) are the same facts in both.
        assert re.findall(r"\d+", english) == re.findall(r"\d+", spanish), name


def test_crisis_replies_give_the_spanish_options_of_the_crisis_line():
    responses = _responses()
    for name in ("utter_red_flag_crisis", "utter_crisis_followup", "utter_greet"):
        assert "{crisis_line_spanish}" in responses[name][1]["text"], name
    domain = (ROOT / "domain.yml").read_text(encoding="utf-8")
    assert "marque 2" in domain and "AYUDA" in domain


def test_spanish_training_data_copies_nothing_from_the_evaluation_sets():
    # Compared without case, accents or punctuation: "¿Qué es...?" and "que es..." are one item.
    trained = {plain(t) for texts in training_examples(ROOT / "data" / "nlu").values() for t in texts}
    for path in SPANISH_SETS.values():
        for example in load_examples(Path(path)):
            assert plain(example["text"]) not in trained, example["text"]


def test_every_spanish_text_is_in_the_review_register_as_it_is_now():
    from clinic.tools import spanish_review

    stale = spanish_review.out_of_date()
    assert not stale, f"run `python -m clinic.tools.spanish_review --update`: {stale}"
