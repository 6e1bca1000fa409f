"""Plays tests/test_*.yml conversation stories against the real servers over the REST channel."""

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import Patient

STORY_FILES = sorted(Path(__file__).parent.glob("test_*.yml"))
STORIES = [
    pytest.param(story, id=story["story"])
    for path in STORY_FILES
    for story in yaml.safe_load(path.read_text())["stories"]
]


def tracker_events(base_url, sender):
    with urllib.request.urlopen(f"{base_url}/conversations/{sender}/tracker", timeout=30) as response:
        return json.loads(response.read())["events"]


def turns(events):
    """[(intent, [actions...]), ...] per user message, as the tracker recorded them."""
    result = []
    for event in events:
        if event["event"] == "user":
            intent = event["parse_data"]["intent"]
            name = intent.get("full_retrieval_intent_name") or intent.get("name")
            result.append((name, []))
        elif event["event"] == "action" and result and event["name"] != "action_listen":
            result[-1][1].append(event["name"])
    return result


def expected_turns(story):
    result = []
    for step in story["steps"]:
        if "user" in step:
            result.append((step["user"], step.get("intent"), []))
        elif "action" in step:
            result[-1][2].append(step["action"])
    return result


@pytest.mark.parametrize("story", STORIES)
def test_conversation_story(rasa_server, story):
    patient = Patient(rasa_server)
    expected = expected_turns(story)
    for text, _, _ in expected:
        patient.say(text)
    recorded = turns(tracker_events(rasa_server, patient.sender))
    assert len(recorded) == len(expected)
    for (text, intent, actions), (got_intent, got_actions) in zip(expected, recorded):
        if intent:
            assert got_intent == intent, text
        assert got_actions == actions, text
