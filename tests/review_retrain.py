"""The review loop's retraining check: ten phrasings of one question go into the review queue, a
reviewer assigns their group to a topic, `make review-export`'s export writes them into a copy of the
training data, the NLU is retrained on it, and ten fresh phrasings (tests/data/review_retrain.yml)
are parsed by the model before and after. Used by tests/test_review_retrain.py and
scripts/review_loop.py --retrain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

import yaml

from clinic.handoff.review_export import export
from clinic.handoff.review_groups import Grouper, Vectoriser, to_json, training_examples
from clinic.handoff.review_store import Batch, GroupChange, NewItem, ReviewStore
from clinic.handoff.store import HandoffStore, utcnow

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
FRESH_FILE = ROOT / "tests" / "data" / "review_retrain.yml"
# What ten patients asked (not in the training data); the reviewer assigns their group.
ASSIGNED = [
    "can i pick up my toddler after the injection",
    "is it safe to carry my baby the same day as the shots",
    "how long should i wait before lifting my kids after trigger point injections",
    "can i still hold my grandson on my lap after the shot",
    "should i avoid picking up my children after the injection",
    "can i carry my 3 year old up the stairs tonight",
    "is lifting my baby out of the crib ok after the shots",
    "how soon after the injection can i pick up my little girl",
    "should i wait a day before carrying my grandkids",
    "is it safe to give my kids piggyback rides the day after",
]
PARSE = """
import asyncio, json, sys
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
out = []
for text in json.loads(sys.argv[2]):
    parsed = asyncio.run(agent.parse_message(text))
    ranking = ((parsed.get("response_selector") or {}).get("faq") or {}).get("ranking") or [{}]
    key = ranking[0].get("intent_response_key") or ""
    out.append({"text": text, "intent": parsed["intent"]["name"], "topic": key.split("/", 1)[-1],
                "confidence": ranking[0].get("confidence", 0.0)})
print("PARSED" + json.dumps(out))
"""


# Rasa reports errors to its telemetry service unless told not to; nothing leaves this machine.
QUIET = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}


def fresh() -> Dict:
    return yaml.safe_load(FRESH_FILE.read_text(encoding="utf-8"))


def parse(model: Path, texts: List[str]) -> List[Dict]:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", PARSE, str(model), json.dumps(texts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=QUIET,
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("PARSED")), None)
    if line is None:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(line[len("PARSED") :])


def answered_with(parsed: List[Dict], topic: str) -> int:
    return sum(1 for p in parsed if p["intent"] == "faq" and p["topic"] == topic)


def queue_and_assign(review: ReviewStore, topic: str, reviewer: str = "rev.rita") -> Dict:
    """The ten phrasings as the collector would store them (deflected, grouped), then the reviewer's
    decision for the group(s) they landed in."""
    vectoriser = Vectoriser(training_examples())
    grouper = Grouper(vectoriser)
    vectors = vectoriser.transform(ASSIGNED)
    keys = [grouper.place(vectors[i], text) for i, text in enumerate(ASSIGNED)]
    cursor = review.cursor("retrain")
    items = [
        NewItem(f"retrain:{i}", f"patient-{i}", utcnow(), "deflected", text, key, topic, 0.5, "nlu_fallback", 0.5)
        for i, (text, key) in enumerate(zip(ASSIGNED, keys))
    ]
    groups = [
        GroupChange(g.key, to_json(g.total), g.members, g.label or "", vectoriser.fingerprint)
        for g in grouper.groups.values()
    ]
    ids = review.commit(Batch("retrain", cursor, cursor + len(items), items, groups, [], Counter(), {}))
    sizes = Counter(ids[key] for key in keys)
    for group_id in sizes:
        review.decide(reviewer, topic, group_id=group_id)
    return {"groups": len(sizes), "largest_group": max(sizes.values())}


def run(workdir: Path, current_model: Path) -> Dict:
    spec = fresh()
    topic, texts = spec["topic"], spec["fresh"]
    started = time.monotonic()
    before = parse(current_model, texts)
    store = HandoffStore(f"sqlite:///{workdir / 'clinic.db'}")
    review = ReviewStore(store)
    grouping = queue_and_assign(review, topic)
    data = workdir / "data"
    if data.exists():
        shutil.rmtree(data)
    shutil.copytree(ROOT / "data", data)
    report = export(review, data / "nlu" / "reviewed", actor="retrain-check")
    store.dispose()
    trained = subprocess.run(
        [
            str(VENV_BIN / "rasa"),
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--nlu",
            str(data / "nlu"),
            "--domain",
            "domain.yml",
            "--out",
            str(workdir / "models"),
            "--fixed-model-name",
            "reviewed",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3000,
        env=QUIET,
    )
    if trained.returncode != 0:
        raise RuntimeError(trained.stdout[-2000:] + trained.stderr[-3000:])
    model = next((workdir / "models").glob("reviewed*.tar.gz"))
    after = parse(model, texts)
    return {
        "topic": topic,
        "grouping": grouping,
        "exported": sum(report.written.values()),
        "before": answered_with(before, topic),
        "after": answered_with(after, topic),
        "of": len(texts),
        "before_detail": before,
        "after_detail": after,
        "seconds": round(time.monotonic() - started),
    }
