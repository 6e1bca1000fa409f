"""The review loop's figures.

python scripts/review_loop.py --groups     how the scripted questions (tests/data/review_conversations.yml)
                                           group at several thresholds, scrubbed as the collector
                                           scrubs them (offline: no bot; tests/test_review_loop.py
                                           measures the same through the real bot)
python scripts/review_loop.py --retrain    ten phrasings assigned to a topic, NLU retrained with the
                                           export, ten fresh phrasings parsed before and after
                                           (a few minutes: one NLU training)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinic.handoff.review_groups import THRESHOLD, Vectoriser, cluster, training_examples  # noqa: E402
from clinic.handoff.scrub import get_scrubber  # noqa: E402
from tests.review_script import build  # noqa: E402


def groups(thresholds) -> None:
    conversations = build()
    scrubber = get_scrubber()
    # Names are known to the collector only when the patient gave them to the handoff form.
    rows = [
        (scrubber.scrub(m.text, [c.patient["name"]] if c.handoff else []), m.family)
        for c in conversations
        for m in c.messages
        if m.family
    ]
    texts, families = [r[0] for r in rows], [r[1] for r in rows]
    vectoriser = Vectoriser(training_examples())
    for threshold in thresholds:
        found = cluster(texts, vectoriser, threshold)
        majority = {
            f: Counter(g for g, ff in zip(found, families) if ff == f).most_common(1)[0][0] for f in set(families)
        }
        shared = len(majority) - len(set(majority.values()))
        right = sum(1 for g, f in zip(found, families) if majority[f] == g and list(majority.values()).count(g) == 1)
        mark = "  <- in use" if abs(threshold - THRESHOLD) < 1e-9 else ""
        print(
            f"threshold {threshold:.2f}: {len(set(found))} groups for {len(majority)} questions, {right}/{len(texts)} "
            f"({right / len(texts):.1%}) in their question's group, {shared} groups shared by two questions{mark}"
        )
        if mark:
            for text, g, f in zip(texts, found, families):
                if majority[f] != g:
                    print(f"    apart from its group ({f}): {text}")


def retrain() -> None:
    from tests.review_retrain import run

    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no trained model: make train")
    with tempfile.TemporaryDirectory(prefix="review-retrain-") as folder:
        result = run(Path(folder), models[-1])
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("detail")}, indent=2))
    for before, after in zip(result["before_detail"], result["after_detail"]):
        print(
            f"  before {before['intent']:>12} {before['topic']:<16} after {after['intent']:>12} {after['topic']:<16} {after['text']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", action="store_true")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.15, 0.18, 0.2, 0.22, 0.25, 0.3, 0.35])
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    if not (args.groups or args.retrain):
        parser.print_help()
        return 2
    if args.groups:
        groups(args.thresholds)
    if args.retrain:
        retrain()
    return 0


if __name__ == "__main__":
    sys.exit(main())
