#!/usr/bin/env python
"""Chooses the learned backstop's cut-offs from out-of-fold predictions, never from a blind set.

    .venv/bin/python scripts/tune_red_flag_backstop.py [--folds 5] [--crisis-alarms 0.02]
        [--emergency-alarms 0.015] [--urgent-alarms 0.03]

Each labelled example in clinic/data/red_flag_examples/, and each NLU training example (all of them
routine, as in the trained backstop), is scored by a backstop fitted on the other folds. For each severity the cut-off is the lowest probability at which at most the given
share of routine ("none") examples would be flagged with it; the recall that cut-off gives is
printed beside it, and so is what the rules alone and rules plus backstop catch out of fold. The
held-out topic questions (never trained on) are scored too, as routine traffic that must not
raise an emergency or crisis.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinic.red_flags.backstop import (  # noqa: E402
    NONE,
    Families,
    LearnedBackstop,
    load_examples,
    load_settings,
)
from clinic.severity import Severity, rank_of  # noqa: E402
from clinic.text.normalise import normalise  # noqa: E402
from clinic.tools.evaluation import load_examples as load_topic_examples  # noqa: E402
from clinic.tools.evaluation import training_texts  # noqa: E402

SEVERITIES = [severity.value for severity in Severity]  # most severe first

FAMILIES = Families(load_settings().families)


def routine_examples():
    return [(text, NONE) for text in training_texts()]


def folds_of(examples, k, seed=13):
    by_label = defaultdict(list)
    for i, (_, label) in enumerate(examples):
        by_label[label].append(i)
    fold = [0] * len(examples)
    rng = random.Random(seed)
    for indices in by_label.values():
        rng.shuffle(indices)
        for n, i in enumerate(indices):
            fold[i] = n % k
    return fold


def out_of_fold(examples, k):
    fold = folds_of(examples, k)
    probs = [None] * len(examples)
    for f in range(k):
        model = LearnedBackstop([e for e, g in zip(examples, fold) if g != f], {}, FAMILIES)
        for i, (text, _) in enumerate(examples):
            if fold[i] == f:
                probs[i] = model.probabilities(text)
    return probs


def cut_off(probs, labels, severity, alarm_share, hard):
    """Computed on the hard routine examples (questions about risks, denials, figures of speech:
    the written ones), where alarms happen; the NLU examples are far easier."""
    routine = sorted((p[severity] for p, l, h in zip(probs, labels, hard) if l == NONE and h), reverse=True)
    allowed = int(alarm_share * len(routine))
    # Just above the highest routine probability beyond the allowed number of alarms.
    return round(min(0.99, routine[allowed] + 0.005), 3) if allowed < len(routine) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    for severity, share in (("crisis", 0.02), ("emergency", 0.015), ("urgent", 0.03)):
        parser.add_argument(
            f"--{severity}-alarms",
            type=float,
            default=share,
            help=f"share of written routine examples allowed to reach the {severity} cut-off",
        )
    args = parser.parse_args()

    written = load_examples()
    examples = written + routine_examples()
    hard = [True] * len(written) + [False] * (len(examples) - len(written))
    labels = [label for _, label in examples]
    print(f"{len(examples)} examples: " + ", ".join(f"{s} {labels.count(s)}" for s in SEVERITIES + [NONE]))
    probs = out_of_fold(examples, args.folds)
    thresholds = {s: cut_off(probs, labels, s, getattr(args, f"{s}_alarms"), hard) for s in SEVERITIES}
    print("suggested cut-offs (clinic/data/red_flags/backstop.yml, thresholds):", thresholds)

    judged = []
    for p in probs:
        hit = next((s for s in SEVERITIES if p[s] >= thresholds[s]), None)
        judged.append(hit)

    import spacy

    from clinic.red_flags.detector import load_detector

    nlp = spacy.load(ROOT / "var" / "spacy" / "en_tpi_sm")
    rules = load_detector()
    by_rules = []
    for text, _ in examples:
        finding = rules.detect(nlp(normalise(text).lower()))
        by_rules.append(finding.severity if finding else None)

    def report(name, predicted):
        def recall(label, ok):
            items = [p for p, l in zip(predicted, labels) if l == label]
            return sum(1 for p in items if ok(p)) / len(items)

        emergency = recall("emergency", lambda p: rank_of(p) >= Severity.EMERGENCY.rank)
        crisis = recall("crisis", lambda p: p == "crisis")
        urgent = recall("urgent", lambda p: rank_of(p) >= Severity.URGENT.rank)

        def alarms(keep):
            items = [p for p, l, h in zip(predicted, labels, hard) if l == NONE and keep(h)]
            return sum(1 for p in items if rank_of(p) >= Severity.EMERGENCY.rank) / len(items)

        print(
            f"{name:22s} emergency {emergency:6.1%}  crisis {crisis:6.1%}  urgent {urgent:6.1%}  "
            f"false alarms: written {alarms(lambda h: h):5.1%}, NLU examples {alarms(lambda h: not h):5.1%}"
        )

    report("backstop (out of fold)", judged)
    report("rules", by_rules)
    report("rules + backstop", [max(a, b, key=rank_of) for a, b in zip(by_rules, judged)])

    final = LearnedBackstop(examples, thresholds, FAMILIES)
    routine = [e["text"] for e in load_topic_examples()]
    flagged = [(t, final.judge(t)) for t in routine]
    serious = [(t, j) for t, j in flagged if j and j[0] != "urgent"]
    urgent = [(t, j) for t, j in flagged if j and j[0] == "urgent"]
    print(f"held-out topic questions ({len(routine)}): emergency/crisis {len(serious)}, urgent {len(urgent)}")
    for t, j in serious + urgent:
        print(f"   {j[0]:9s} {j[1]:.2f}  {t}")


if __name__ == "__main__":
    main()
