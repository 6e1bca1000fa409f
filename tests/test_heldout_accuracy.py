"""Floors under the assistant's understanding of held-out messages it was never trained on.

The figures themselves are printed by `make bench`; these floors sit below them so that a real
regression fails and ordinary training noise does not.
"""

import json

import pytest

from clinic.tools.evaluation import evaluate_model, load_examples, training_examples
from tests.conftest import ARTIFACTS


@pytest.fixture(scope="module")
def report(trained_model):
    return evaluate_model(trained_model)


def test_the_heldout_set_is_big_enough_and_never_trained_on():
    examples = load_examples()
    assert len(examples) >= 150
    assert sum(1 for e in examples if e["topic"] == "unanswerable") >= 30
    trained = {text.lower() for texts in training_examples().values() for text in texts}
    assert not [e["text"] for e in examples if e["text"].lower() in trained]


def test_understanding_floors(report):
    figures = report.figures()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "heldout.json").write_text(json.dumps(figures, indent=2))
    assert figures["top1"] >= 0.85, figures
    assert figures["deflected"] >= 0.60, figures
    # A confident wrong answer is the costly error: keep it rare.
    assert figures["answered_wrong"] <= 0.08, figures
