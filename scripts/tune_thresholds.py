"""Tunes the fallback thresholds on the training data itself and on the development half of the
real-question set, never on the held-out set or the blind half.

It holds back a fifth of every intent's training examples, trains the NLU pipeline on the rest,
parses the held-back fifth once with the gates opened, and then replays the gates' decisions over a
grid of thresholds. Utility = right answers - 3 x wrong answers - 0.5 x questions asked back: a
confident wrong answer is the costly error, and a needless "did you mean" costs the patient a tap.
With `--real-dev` it also trains on all the training data and parses the real-question set's
development half (tests/data/real_questions/dev.yml; an unanswerable question is right when it
is called out of scope, asked back when the assistant asks), and prints that grid too.
The parses are kept in bench/results/tuning_parses*.json; `--replay` re-scores them without training.

    .venv/bin/python scripts/tune_thresholds.py [--config candidate.yml] [--real-dev] [--replay]
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import procs  # noqa: E402
from clinic.tools.evaluation import REAL_DEV_FILE, UNANSWERABLE, load_examples, nlu_blocks, training_examples  # noqa: E402
from clinic.topics import RETRIEVAL_INTENT, topic_ranking  # noqa: E402

WRONG_ANSWER_COST = 3.0
ASK_COST = 0.5
PARSES_FILE = ROOT / "bench" / "results" / "tuning_parses.json"
REAL_DEV_PARSES_FILE = ROOT / "bench" / "results" / "tuning_parses_real_dev.json"


def split_training_data(seed: int = 7):
    train, held = [], []
    rng = random.Random(seed)
    for intent, examples in training_examples().items():
        lines = list(examples)
        rng.shuffle(lines)
        cut = max(1, len(lines) // 5)
        held += [(intent, text) for text in lines[:cut]]
        train.append({"intent": intent, "examples": "".join(f"- {t}\n" for t in lines[cut:])})
    return train, held


def word_lists():
    """The NLU data's lookup tables, regexes and synonyms: not examples, so never held back."""
    return [block for block in nlu_blocks() if "intent" not in block]


def decide(parsed, fallback_threshold, topic_threshold, margin):
    intents = parsed.get("intent_ranking") or []
    top = intents[0] if intents else {"name": "", "confidence": 0.0}
    if top["confidence"] < fallback_threshold:
        return "nlu_fallback", None
    if len(intents) > 1 and top["confidence"] - intents[1]["confidence"] < 0.1:
        return "nlu_fallback", None
    if top["name"] != RETRIEVAL_INTENT:
        return top["name"], None
    ranking = topic_ranking(parsed)
    best = ranking[0]["confidence"] if ranking else 0.0
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    if best < topic_threshold or best - second < margin:
        return "nlu_fallback", None
    return RETRIEVAL_INTENT, ranking[0]["topic"]


def score(parses, fallback_threshold, topic_threshold, margin):
    right = wrong = asked = 0
    for label, parsed in parses:
        intent, topic = decide(parsed, fallback_threshold, topic_threshold, margin)
        truth_intent, _, truth_topic = label.partition("/")
        if intent == "nlu_fallback":
            asked += 1
        elif intent == truth_intent and (topic or "") == truth_topic:
            right += 1
        else:
            wrong += 1
    n = len(parses)
    return right / n, wrong / n, asked / n, (right - WRONG_ANSWER_COST * wrong - ASK_COST * asked) / n


def parse_held_back(config_path: Path = ROOT / "config.yml", split_seed: int = 7, cache: Optional[Path] = None):
    """Trains on four fifths of the training data and parses the held-back fifth, gates open.

    `cache` is a Rasa training cache to share between runs on the same split; only safe when the
    configs differ after the featurizers (see below)."""
    train, held = split_training_data(split_seed)
    return _train_and_parse(config_path, train, held, cache)


def real_dev_label(label: str, intents) -> str:
    """A real-question label in the tuner's terms: faq/<topic>, an intent, or out_of_scope."""
    if label == UNANSWERABLE:
        return "out_of_scope"
    return label if label in intents else f"faq/{label}"


def parse_real_dev(config_path: Path = ROOT / "config.yml", cache: Optional[Path] = None):
    """Trains on all the training data and parses the real-question set's development half, gates open."""
    examples = training_examples()
    train = [{"intent": intent, "examples": "".join(f"- {t}\n" for t in lines)} for intent, lines in examples.items()]
    held = [(real_dev_label(e["label"], examples), e["text"]) for e in load_examples(REAL_DEV_FILE)]
    return _train_and_parse(config_path, train, held, cache)


def _train_and_parse(config_path: Path, train, held, cache: Optional[Path]):
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": train + word_lists()}, sort_keys=False))
        # Gates wide open: the parse keeps the raw confidences the grid then replays.
        config = yaml.safe_load(config_path.read_text())
        for component in config["pipeline"]:
            if component["name"] == "FallbackClassifier":
                component.update(threshold=0.0, ambiguity_threshold=0.0)
            if component["name"].endswith("TopicGate"):
                component.update(threshold=0.0, ambiguity_margin=0.0)
        (tmp / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        procs.rasa_train(
            [
                "nlu",
                "--config",
                str(tmp / "config.yml"),
                "--nlu",
                str(tmp / "nlu.yml"),
                "--domain",
                str(ROOT / "domain.yml"),
                "--out",
                str(tmp),
                "--fixed-model-name",
                "tune",
                "--quiet",
            ],
            cache or tmp / "cache",
        )
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
        agent = Agent.load(str(tmp / "tune.tar.gz"))

        async def parse_all():
            return [(label, await agent.parse_message(text)) for label, text in held]

        return asyncio.run(parse_all())


def main() -> None:
    config_path = Path(sys.argv[sys.argv.index("--config") + 1]) if "--config" in sys.argv else ROOT / "config.yml"
    sets: List[Tuple[str, Path, Any]] = [("held-back training examples", PARSES_FILE, parse_held_back)]
    if "--real-dev" in sys.argv:
        sets.append(("real questions, development half", REAL_DEV_PARSES_FILE, parse_real_dev))
    for title, path, parse in sets:
        if "--replay" in sys.argv:
            parses = json.loads(path.read_text())
        else:
            parses = parse(config_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(parses))
        print_grid(parses, title)


def print_grid(parses, title: str) -> None:
    rows = []
    for fallback_threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        for topic_threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            for margin in (0.0, 0.1, 0.2, 0.3, 0.4):
                rows.append(
                    (
                        score(parses, fallback_threshold, topic_threshold, margin),
                        fallback_threshold,
                        topic_threshold,
                        margin,
                    )
                )
    rows.sort(key=lambda r: (r[0][3], -r[1], -r[2], -r[3]), reverse=True)
    print(f"{len(parses)} {title}; utility = right - {WRONG_ANSWER_COST:g} x wrong - {ASK_COST:g} x asked")
    print("fallback  topic  margin | right  wrong  asked  utility")
    for (right, wrong, asked, utility), f, t, m in rows[:12]:
        print(f"{f:8.2f} {t:6.2f} {m:7.2f} | {right:5.3f} {wrong:6.3f} {asked:6.3f} {utility:8.3f}")


if __name__ == "__main__":
    main()
