"""Held-out understanding of one model, in its own process: `python -m bench.score MODEL` prints the
figures of clinic.tools.evaluation as JSON on its last line: the English held-out set's at the top
level, and each other set's under "sets" (the Spanish patient questions, dev and blind).

Rasa's default ResponseSelector (no `retrieval_intent`, as `rasa init` has it) files its answer
under the key "default" instead of "faq"; the scoring reads it from there, so both pipelines are
judged by the same rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, Dict

from clinic.tools.evaluation import SPANISH_SETS, evaluate, load_examples
from clinic.topics import RESPONSE_SELECTOR, RETRIEVAL_INTENT


def normalise(parsed: Dict[str, Any]) -> Dict[str, Any]:
    selector = parsed.get(RESPONSE_SELECTOR) or {}
    if RETRIEVAL_INTENT not in selector and "default" in selector:
        parsed = dict(parsed)
        parsed[RESPONSE_SELECTOR] = {**selector, RETRIEVAL_INTENT: selector["default"]}
    return parsed


def score(model_path: str) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(model_path)

    async def parse(text: str) -> Dict[str, Any]:
        return normalise(await agent.parse_message(text))

    figures = asyncio.run(evaluate(parse, load_examples())).figures()
    figures["sets"] = {name: asyncio.run(evaluate(parse, load_examples(path))).figures()
                       for name, path in SPANISH_SETS.items()}
    return figures


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(score(sys.argv[1])))
