"""Floors under the conversation figures of issue 14 (printed by scripts/score_conversations.py):
call-backs as patients ask for them, and follow-up questions in context, played over the REST
channel with the real servers. The model and the replays are deterministic, so these do not flake."""

import json

import pytest

from clinic.tools.conversations import (
    SPANISH_SETS,
    TARGETS,
    RestPlayer,
    callbacks_expecting,
    figures,
    load_callbacks,
    load_followups,
    run_all,
)
from tests.conftest import ARTIFACTS


def test_the_sets_are_big_and_varied_enough():
    callbacks, followups = load_callbacks(), load_followups()
    assert len(callbacks) >= 40 and len(followups) >= 60
    assert sum(c["expect"] == "stopped" for c in callbacks) >= 5
    assert len({c["says"][c.get("starts", 0)].lower() for c in callbacks}) >= 30, "varied phrasings"
    for conversation in callbacks:
        span = len(conversation["says"]) - conversation.get("starts", 0)
        if conversation["expect"] == "confirmed":
            assert span <= conversation["questions"] + 1, conversation["id"]


@pytest.fixture(scope="module")
def results(rasa_server):
    return run_all(RestPlayer(rasa_server, prefix="floors"), workers=3)


def test_call_backs_and_follow_ups_meet_their_targets(results):
    numbers = figures(results)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "conversations.json").write_text(json.dumps(numbers, indent=2))
    misses = {name: [(r.id, r.problems) for r in items if not r.ok] for name, items in results.items()}
    assert numbers["callbacks"]["rate"] >= TARGETS["callbacks"], misses["callbacks"]
    assert numbers["followups"]["rate"] >= TARGETS["followups"], misses["followups"]
    assert numbers["repeated_replies"] == 0


def test_every_stopped_call_back_sent_nothing(results):
    stops = callbacks_expecting(results, "stopped")
    assert stops and all(r.ok for r in stops), [(r.id, r.problems) for r in stops if not r.ok]


# Spanish conversations (tests/data/conversations/es/), each set written by a helper who saw
# neither the implementation nor the training data and played once before it was studied
# (docs/conversations.md): set A, 16 of 30 call-backs and 14 of 40 follow-ups; set B, after set A's
# study, 12 of 16 and 21 of 24. Floors at what the assistant does now: the misses left are first
# questions the NLU did not understand, and leg pain that "no se me quita" read as urgent.
SPANISH_FLOORS = {"callbacks": 44, "followups": 58}


@pytest.fixture(scope="module")
def spanish_results(rasa_server):
    return run_all(RestPlayer(rasa_server, prefix="floors-es"), workers=3, sets=SPANISH_SETS)


def test_spanish_conversations_hold_their_floors(spanish_results):
    numbers = figures(spanish_results, SPANISH_SETS)
    (ARTIFACTS / "conversations_es.json").write_text(json.dumps(numbers, indent=2))
    misses = {name: [(r.id, r.problems) for r in items if not r.ok] for name, items in spanish_results.items()}
    for name, floor in SPANISH_FLOORS.items():
        assert numbers[name]["passed"] >= floor, misses[name]
    assert numbers["repeated_replies"] == 0


def test_no_spanish_call_back_that_was_stopped_sent_anything(spanish_results):
    stops = callbacks_expecting(spanish_results, "stopped", SPANISH_SETS)
    assert len(stops) >= 5 and all(r.ok for r in stops), [(r.id, r.problems) for r in stops if not r.ok]
