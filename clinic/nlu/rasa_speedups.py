"""A fix for the slowest step of a message in Rasa 3.6: checking the action server's reply.

Rasa checks every reply of a custom action with `jsonschema.validate(reply, schema)`. That call
first checks the *schema itself* against JSON Schema's 2020-12 meta-schema, and Rasa's event schema
is large: about 25 ms of CPU per custom action call on the development machines (measured by
`python -m bench --profile`), more than the whole NLU pipeline. Every FAQ answer runs
`action_topic_fit`, and each step of the handoff form runs `validate_handoff_form`.

`install()` replaces that check with the same validation against the same schema by a validator
built once: the same replies pass, the same replies fail, with the same error message. Importing
this module installs it (the Rasa server imports it through a component of ours).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

_validator: Optional[Any] = None


def _response_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once per process, as validate() did on every call
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    # What jsonschema.validate() raises: the best-matching error, if any.
    error = best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    from rasa.core.actions.action import RemoteAction

    if RemoteAction._validate_action_result is not _validate_action_result:
        RemoteAction._validate_action_result = _validate_action_result


install()
