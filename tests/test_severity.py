"""The one definition of the red-flag severities and their order (clinic/severity.py), and the
places that rank through it."""

from __future__ import annotations

from clinic.console.formatting import URGENCY_LABELS
from clinic.handoff.record import urgency
from clinic.handoff.store import URGENCY_RANK
from clinic.nlu.safety_policy import red_flag_severity
from clinic.severity import Severity, most_severe, rank_of


def test_order_and_values():
    assert [s.value for s in Severity] == ["crisis", "emergency", "urgent"]
    assert Severity.CRISIS.rank > Severity.EMERGENCY.rank > Severity.URGENT.rank > 0
    assert Severity.CRISIS == "crisis" and str(Severity.CRISIS) == "crisis"
    assert {"crisis": 1}[Severity.CRISIS] == 1  # hashes like its text


def test_parse_and_rank_of_text():
    assert Severity.parse("emergency") is Severity.EMERGENCY
    assert Severity.parse(Severity.URGENT) is Severity.URGENT
    for other in ("none", "routine", None, "Crisis", 3):
        assert Severity.parse(other) is None and rank_of(other) == 0
    assert rank_of("crisis") == Severity.CRISIS.rank


def test_most_severe():
    assert most_severe(["urgent", "crisis", "emergency"]) is Severity.CRISIS
    assert most_severe(["urgent", None, "routine", "emergency"]) is Severity.EMERGENCY
    assert most_severe([]) is None and most_severe(["none", "routine"]) is None


def test_the_nurse_queue_ranks_crisis_with_emergency():
    # stored with each handoff: these numbers never change
    assert URGENCY_RANK == {"emergency": 3, "crisis": 3, "urgent": 2, "routine": 0}
    assert set(URGENCY_LABELS) == set(URGENCY_RANK)


def test_users_of_the_order():
    flags = [{"severity": "emergency"}, {"severity": "crisis"}, {"severity": "urgent"}]
    assert urgency(flags, "question") == "crisis"
    assert urgency([], "urgent") == "urgent" and urgency([], "question") == "routine"
    assert urgency([{"severity": "emergency"}], "urgent") == "emergency"
    entities = [{"entity": "red_flag", "value": "urgent"}, {"entity": "red_flag", "value": "emergency"}]
    assert red_flag_severity(entities) == "emergency"
    assert type(red_flag_severity(entities)) is str
    assert red_flag_severity([{"entity": "body_part", "value": "crisis"}]) is None
