"""The training examples written against the real-question sets (issue 13) keep away from them: no
example in those files shares 60% or more of its words with a real question (either half) or a
held-out message, so the sets stay a measure of wording the model has not seen."""

import re

import pytest
import yaml

from clinic.tools.evaluation import HELDOUT_FILE, NLU_DIR, REAL_BLIND_FILE, REAL_DEV_FILE, load_examples

# Files whose examples were written after the real-question sets existed.
WRITTEN_AGAINST_THE_MEASURE = ["faq_page_style.yml"]
WORD = re.compile(r"\w+")


def words(text):
    return set(WORD.findall(text.lower()))


MEASURE = [words(e["text"]) for path in (REAL_DEV_FILE, REAL_BLIND_FILE, HELDOUT_FILE) for e in load_examples(path)]


def examples(name):
    blocks = yaml.safe_load((NLU_DIR / name).read_text(encoding="utf-8"))["nlu"]
    return [
        line.strip()[2:] for block in blocks for line in block["examples"].splitlines() if line.strip().startswith("- ")
    ]


@pytest.mark.parametrize("name", WRITTEN_AGAINST_THE_MEASURE)
def test_no_example_is_close_to_a_measured_question(name):
    close = [
        text
        for text in examples(name)
        if any(len(words(text) & other) / len(words(text) | other) >= 0.6 for other in MEASURE)
    ]
    assert examples(name) and close == []


def test_the_check_would_see_a_copied_question():
    copied = words(load_examples(REAL_BLIND_FILE)[0]["text"])
    assert any(len(copied & other) / len(copied | other) >= 0.6 for other in MEASURE)
