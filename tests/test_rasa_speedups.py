"""clinic.nlu.rasa_speedups checks action server replies exactly as Rasa does, only faster."""

from __future__ import annotations

import time

import jsonschema
from rasa.core.actions.action import RemoteAction

import clinic.nlu.rasa_speedups as speedups

REPLIES = [
    {"events": [{"event": "slot", "name": "handoff_kind", "value": "question"}], "responses": [{"text": "hi"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "value": 1}]},
    {"events": [{"event": "no_such_event"}]},
    {"responses": "not a list"},
]


def outcomes(check):
    found = []
    for reply in REPLIES:
        try:
            found.append(check(reply))
        except jsonschema.ValidationError as error:
            found.append(error.message)
    return found


def test_same_verdicts_and_messages_as_jsonschema_validate():
    action = RemoteAction("action_topic_fit", None)
    patched = outcomes(action._validate_action_result)
    plain = outcomes(lambda reply: jsonschema.validate(reply, RemoteAction.action_response_format_spec()) or True)
    assert [p is True for p in patched] == [p is True for p in plain]
    for mine, theirs in zip(patched, plain):
        if mine is not True:
            assert str(mine).startswith(str(theirs) if theirs is not True else "")
            assert "Failed to validate Action server response" in mine


def test_installed_and_fast():
    assert RemoteAction._validate_action_result is speedups._validate_action_result
    action = RemoteAction("action_topic_fit", None)
    action._validate_action_result(REPLIES[0])
    started = time.perf_counter()
    for _ in range(20):
        action._validate_action_result(REPLIES[0])
    assert (time.perf_counter() - started) / 20 < 0.005
