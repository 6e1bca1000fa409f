"""Compares candidate NLU configs on the training data itself, never on the held-out set.

For each of several splits (a different fifth of every intent held back each time), every config is
trained on the rest and parses the held-back fifth; the same splits serve every config, so the
comparison is paired. It prints, per config, the held-out figures' definitions (clinic.tools.evaluation)
applied to the held-back examples at the config's own thresholds: top-1 topic, answered right and
wrong, out-of-scope deflected, and the threshold tuner's utility. Parses are kept in
bench/results/compare/ for a re-score with `--replay`.

    .venv/bin/python scripts/compare_pipelines.py config.yml candidate.yml [--splits 3] [--replay]

About 45 s of training per config and split on two cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from tune_thresholds import decide, parse_held_back, score  # noqa: E402

from clinic.tools.evaluation import UNANSWERABLE, Report, outcome_from_parse  # noqa: E402
from clinic.topics import RETRIEVAL_INTENT  # noqa: E402

SPLIT_SEEDS = (7, 11, 13, 17, 19)
OUT = ROOT / "bench" / "results" / "compare"


def gates(config_path: Path) -> Tuple[float, float, float]:
    fallback = topic = margin = 0.0
    for component in yaml.safe_load(config_path.read_text())["pipeline"]:
        if component["name"] == "FallbackClassifier":
            fallback = float(component.get("threshold", 0.3))
        if component["name"].endswith("TopicGate"):
            topic, margin = float(component.get("threshold", 0.5)), float(component.get("ambiguity_margin", 0.1))
    return fallback, topic, margin


def outcomes(parses: List[Tuple[str, Dict[str, Any]]], fallback: float, topic: float, margin: float) -> Report:
    report = Report()
    for label, parsed in parses:
        intent, _, truth_topic = label.partition("/")
        if intent not in (RETRIEVAL_INTENT, "out_of_scope"):
            continue
        decided, _ = decide(parsed, fallback, topic, margin)
        # Scored as the served model's parse would be: the gates' decision as its intent.
        gated = {
            **parsed,
            "intent": {"name": decided, "confidence": (parsed.get("intent") or {}).get("confidence", 0.0)},
        }
        report.outcomes.append(outcome_from_parse(parsed.get("text", ""), truth_topic or UNANSWERABLE, gated))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--replay", action="store_true", help="re-score the parses kept from an earlier run")
    parser.add_argument(
        "--share-cache",
        action="store_true",
        help="one Rasa training cache per split, for configs that differ only after the featurizers",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for config in args.configs:
        thresholds = gates(config)
        per_split = []
        for seed in SPLIT_SEEDS[: args.splits]:
            kept = OUT / f"{config.stem}-{seed}.json"
            if args.replay and kept.exists():
                parses = json.loads(kept.read_text())
            else:
                cache = OUT / f"cache-{seed}" if args.share_cache else None
                parses = parse_held_back(config, split_seed=seed, cache=cache)
                kept.write_text(json.dumps(parses))
            figures = outcomes(parses, *thresholds).figures()
            figures["utility"] = score(parses, *thresholds)[3]
            per_split.append(figures)
            print(f"{config.stem} split {seed}: {figures}", flush=True)
        keys = ("top1", "answered_right", "answered_wrong", "deflected", "utility")
        rows.append(
            (
                config.stem,
                {k: statistics.mean(f[k] for f in per_split) for k in keys},
                {k: (min(f[k] for f in per_split), max(f[k] for f in per_split)) for k in keys},
            )
        )
    print(f"\nmeans over {args.splits} splits (range)")
    print(f"{'config':<24} " + " ".join(f"{k:>20}" for k in ("top1", "right", "wrong", "deflected", "utility")))
    for name, means, ranges in rows:
        cells = [f"{means[k]:.3f} ({ranges[k][0]:.2f}-{ranges[k][1]:.2f})" for k in means]
        print(f"{name:<24} " + " ".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
