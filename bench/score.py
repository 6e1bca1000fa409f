"""Held-out understanding of one model, in its own process: `python -m bench.score MODEL [SET ...]`
prints the figures of clinic.tools.evaluation as JSON on its last line: the held-out set's at the top
level, and each real-question set named (`real_dev`, `real_blind`, and the Spanish patient
questions `spanish_dev`, `spanish_blind`; skipped when its file is missing) under its own key, with
the figures per kind of question (clinic FAQ page, chat, forum). The blind sets are scored only when
named: `make bench` names them, a development run does not.

Rasa's default ResponseSelector (no `retrieval_intent`, as `rasa init` has it) files its answer
under the key "default" instead of "faq"; the scoring reads it from there, so both pipelines are
judged by the same rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, Dict, Sequence

from clinic.tools.evaluation import (
    REAL_BLIND_FILE,
    REAL_DEV_FILE,
    SPANISH_BLIND_FILE,
    SPANISH_DEV_FILE,
    Report,
    evaluate,
    load_examples,
)
from clinic.topics import RESPONSE_SELECTOR, RETRIEVAL_INTENT


def normalise(parsed: Dict[str, Any]) -> Dict[str, Any]:
    selector = parsed.get(RESPONSE_SELECTOR) or {}
    if RETRIEVAL_INTENT not in selector and "default" in selector:
        parsed = dict(parsed)
        parsed[RESPONSE_SELECTOR] = {**selector, RETRIEVAL_INTENT: selector["default"]}
    return parsed


REAL_SETS = {
    "real_dev": REAL_DEV_FILE,
    "real_blind": REAL_BLIND_FILE,
    "spanish_dev": SPANISH_DEV_FILE,
    "spanish_blind": SPANISH_BLIND_FILE,
}


def _with_kinds(report: Report) -> Dict[str, Any]:
    figures = report.figures()
    kinds = sorted({o.kind for o in report.outcomes if o.kind})
    figures["by_kind"] = {kind: Report([o for o in report.outcomes if o.kind == kind]).figures() for kind in kinds}
    return figures


def score(model_path: str, real_sets: Sequence[str] = ()) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(model_path)

    async def parse(text: str) -> Dict[str, Any]:
        return normalise(await agent.parse_message(text))

    async def score_all() -> Dict[str, Any]:
        figures = (await evaluate(parse, load_examples())).figures()
        for name in real_sets:
            if REAL_SETS[name].exists():
                figures[name] = _with_kinds(await evaluate(parse, load_examples(REAL_SETS[name])))
        return figures

    return asyncio.run(score_all())


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(score(sys.argv[1], [name for name in sys.argv[2:] if name in REAL_SETS])))
