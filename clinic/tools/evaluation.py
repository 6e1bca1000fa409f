"""Scores the assistant's understanding on labelled messages: the held-out set in tests/data/ and
the real-question sets (tests/data/real_questions/{dev,blind}.yml, questions real people asked).

A label is a FAQ topic id, another intent the assistant acts on (book_appointment,
request_nurse: the real-question sets have them), or "unanswerable". A message counts as
*deflected* when the assistant says it can't answer (out_of_scope) or asks what was meant
(nlu_fallback), and as *answered* otherwise: with its FAQ topic, or with its intent. The figures:

- top1: share of answerable messages whose best guess is right (the topic or intent answered, or
  the first topic offered when the assistant asks);
- answered_right: share of answerable messages answered outright with the right topic or intent;
- answered_wrong: share of answerable messages answered outright with a wrong topic or intent (the
  costly error: a confident wrong answer; a question taken for small talk counts too);
- deflected: share of unanswerable messages deflected rather than answered.

The real-question sets also carry a second annotator's label where it differs (`also`: labelled
independently from the same topic contract and documents, without the first labels or the
assistant's answers); the `_either` figures count a guess right when it matches either label.

The blind real-question set is scored once per round, never tuned on, and nothing of either half
goes into the training data (tests/data/real_questions/README.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import yaml

from clinic.settings import PROJECT_ROOT
from clinic.topics import RETRIEVAL_INTENT, topic_ranking

UNANSWERABLE = "unanswerable"
DEFLECTING_INTENTS = {"out_of_scope", "nlu_fallback"}
# The assistant's own finer intents, as the topic contract (DESIGN.md) names them: a request to be
# called back is the contract's request for the nurse (the form starts at once instead of an offer).
CONTRACT_INTENTS = {"request_callback": "request_nurse"}
HELDOUT_FILE = PROJECT_ROOT / "tests" / "data" / "heldout_topics.yml"
REAL_QUESTIONS_DIR = PROJECT_ROOT / "tests" / "data" / "real_questions"
REAL_DEV_FILE = REAL_QUESTIONS_DIR / "dev.yml"
REAL_BLIND_FILE = REAL_QUESTIONS_DIR / "blind.yml"
# Spanish patient questions (tests/data/spanish_questions/README.md): dev may be studied; blind is
# scored once per round and never tuned on.
SPANISH_DIR = PROJECT_ROOT / "tests" / "data" / "spanish_questions"
SPANISH_DEV_FILE = SPANISH_DIR / "dev.yml"
SPANISH_BLIND_FILE = SPANISH_DIR / "blind.yml"
SPANISH_SETS = {"spanish_dev": SPANISH_DEV_FILE, "spanish_blind": SPANISH_BLIND_FILE}
NLU_DIR = PROJECT_ROOT / "data" / "nlu"


@dataclass
class Outcome:
    text: str
    label: str
    intent: str
    topic: Optional[str]
    confidence: float

    kind: str = ""
    # a second annotator's label, where it differs from `label`
    also: Optional[str] = None

    @property
    def answered(self) -> bool:
        return bool(self.intent) and self.intent not in DEFLECTING_INTENTS

    @property
    def deflected(self) -> bool:
        return self.intent in DEFLECTING_INTENTS

    @property
    def guess(self) -> Optional[str]:
        """The topic answered or offered first, or the intent acted on (for a non-FAQ answer), as
        the topic contract names it."""
        if self.intent in (RETRIEVAL_INTENT, "nlu_fallback"):
            return self.topic
        return CONTRACT_INTENTS.get(self.intent, self.intent)

    @property
    def right(self) -> bool:
        return self.guess == self.label

    @property
    def right_either(self) -> bool:
        return self.right or (self.also is not None and self.guess == self.also)

    @property
    def deflected_either(self) -> bool:
        return self.deflected or (self.also is not None and self.answered and self.guess == self.also)


@dataclass
class Report:
    outcomes: List[Outcome] = field(default_factory=list)

    def _share(self, items: List[Outcome], keep: Callable[[Outcome], bool]) -> float:
        return sum(1 for o in items if keep(o)) / len(items) if items else 0.0

    @property
    def answerable(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.label != UNANSWERABLE]

    @property
    def unanswerable(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.label == UNANSWERABLE]

    def figures(self) -> Dict[str, Any]:
        answerable, unanswerable = self.answerable, self.unanswerable
        return {
            "messages": len(self.outcomes),
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "top1": round(self._share(answerable, lambda o: o.right), 4),
            "answered_right": round(self._share(answerable, lambda o: o.answered and o.right), 4),
            "answered_wrong": round(self._share(answerable, lambda o: o.answered and not o.right), 4),
            "deflected": round(self._share(unanswerable, lambda o: o.deflected), 4),
            "top1_either": round(self._share(answerable, lambda o: o.right_either), 4),
            "answered_right_either": round(self._share(answerable, lambda o: o.answered and o.right_either), 4),
            "answered_wrong_either": round(self._share(answerable, lambda o: o.answered and not o.right_either), 4),
            "deflected_either": round(self._share(unanswerable, lambda o: o.deflected_either), 4),
        }

    def misses(self) -> List[Outcome]:
        return [
            o
            for o in self.outcomes
            if (o.label == UNANSWERABLE and not o.deflected) or (o.label != UNANSWERABLE and not o.right)
        ]


def nlu_blocks(nlu_dir: Path = NLU_DIR) -> List[Dict[str, Any]]:
    """Every block of the NLU data (intents, lookup tables, regexes, synonyms), files in name order."""
    return [
        block
        for path in sorted(nlu_dir.rglob("*.yml"))
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []
    ]


def training_examples(nlu_dir: Path = NLU_DIR) -> Dict[str, List[str]]:
    """Every NLU training example per intent (data/nlu/)."""
    examples: Dict[str, List[str]] = {}
    for block in nlu_blocks(nlu_dir):
        if "intent" in block:
            lines = [l.strip()[2:].strip() for l in block["examples"].splitlines() if l.strip().startswith("- ")]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


def training_texts(nlu_dir: Path = NLU_DIR) -> List[str]:
    """Every NLU training example's text (what the red-flag backstop learns as routine)."""
    return [text for lines in training_examples(nlu_dir).values() for text in lines]


def load_examples(path: Path = HELDOUT_FILE) -> List[Dict[str, str]]:
    """Labelled messages; the held-out set's `topic` key is read as the label."""
    examples = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
    return [{**e, "label": e.get("label", e.get("topic"))} for e in examples]


def outcome_from_parse(
    text: str, label: str, parsed: Dict[str, Any], kind: str = "", also: Optional[str] = None
) -> Outcome:
    intent = (parsed.get("intent") or {}).get("name") or ""
    ranking = topic_ranking(parsed)
    # When the assistant deflects, the topic it would have offered first still tells whether the
    # right topic was within reach; for an unanswerable message nothing is offered as an answer.
    topic = ranking[0]["topic"] if ranking and intent in (RETRIEVAL_INTENT, "nlu_fallback") else None
    return Outcome(
        text=text,
        label=label,
        intent=intent,
        topic=topic,
        confidence=float((parsed.get("intent") or {}).get("confidence") or 0.0),
        kind=kind,
        also=also,
    )


async def evaluate(parse: Callable[[str], Awaitable[Dict[str, Any]]], examples: List[Dict[str, str]]) -> Report:
    report = Report()
    for example in examples:
        parsed = await parse(example["text"])
        report.outcomes.append(
            outcome_from_parse(example["text"], example["label"], parsed, example.get("kind", ""), example.get("also"))
        )
    return report


def evaluate_model(model_path: Path, examples: Optional[List[Dict[str, str]]] = None) -> Report:
    import logging

    from rasa.core.agent import Agent  # heavy: only where a model is scored
    from rasa.utils.log_utils import configure_structlog

    # Rasa's debug log prints each parsed message; scoring must not copy messages into logs.
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model_path))
    return asyncio.run(evaluate(agent.parse_message, examples or load_examples()))
