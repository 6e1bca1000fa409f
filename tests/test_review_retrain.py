"""After a reviewer assigns a group of ten phrasings to a topic and the NLU is retrained with the
export, fresh phrasings of the same question are answered with that topic. Slow (one NLU training,
a few minutes here): the full figures are printed by scripts/review_loop.py --retrain."""

from __future__ import annotations

from tests.review_retrain import run

# The target is 8 of 10 (issue 16). With the sentence encoder, scripts/review_loop.py --retrain
# measured 4 before and 9 after (README), so the floor is the target itself, one below that figure
# as one retraining can move a borderline phrasing.
FLOOR = 8


def test_reviewed_examples_are_understood_after_retraining(trained_model, tmp_path):
    result = run(tmp_path, trained_model)
    print(
        f"\n{result['topic']}: {result['before']}/{result['of']} fresh phrasings before, {result['after']}/{result['of']} after "
        f"({result['exported']} examples exported from {result['grouping']['groups']} group(s), {result['seconds']} s)"
    )
    assert result["exported"] == 10
    assert result["after"] >= FLOOR, result["after_detail"]
    assert result["after"] >= result["before"]
