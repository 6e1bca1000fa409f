"""Floors under the conversation figures of issue 14 (printed by scripts/score_conversations.py):
call-backs as patients ask for them, and follow-up questions in context, played over the REST
channel with the real servers. The model and the replays are deterministic, so these do not flake."""

import json

import pytest

from clinic.tools.conversations import TARGETS, RestPlayer, figures, load_callbacks, load_followups, run_all
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
    stops = [r for r, c in zip(results["callbacks"], load_callbacks()) if c["expect"] == "stopped"]
    assert stops and all(r.ok for r in stops), [(r.id, r.problems) for r in stops if not r.ok]
