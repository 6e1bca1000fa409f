"""`make review-export`: the reviewers' decisions back into the training data.

Writes every decided review item (assigned to a topic, or marked out of scope) not exported yet
into ``data/nlu/reviewed/<topic>.yml`` (``out_of_scope.yml`` for out of scope) as Rasa NLU YAML:
the examples of one reviewer on one day form one block, with a comment saying who reviewed them and
when. Files are appended to, never rewritten, so examples stay in the training data after the
retention period has deleted their review items. The next `make train` learns from them.

Left out, and reported: examples already in the training data (the same words, under any label),
examples in an evaluation set under tests/data/ (the evaluation sets must stay unseen), and the same
words decided two ways. Items marked "needs a new answer" are not exported: there is no answer to
train for yet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set, Tuple

import yaml

from clinic.handoff.review_store import OUT_OF_SCOPE, ReviewStore
from clinic.settings import PROJECT_ROOT
from clinic.topics import RETRIEVAL_INTENT

REVIEWED_DIR = PROJECT_ROOT / "data" / "nlu" / "reviewed"
TRAINING_DIR = PROJECT_ROOT / "data"
EVALUATION_DIR = PROJECT_ROOT / "tests" / "data"
_PLACEHOLDER = re.compile(r"\s*\[(?:phone|email|name|number|removed)\]\s*")
_ANNOTATION_MARKS = re.compile(r"[\[\]{}]")
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


def normalise(text: str) -> str:
    """How two examples are compared: case, punctuation and spacing do not count."""
    text = str(text).replace("’", "'").lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def example_text(text: str) -> str:
    """A review item's text as a training example: placeholders out, one line, no annotation marks."""
    text = _PLACEHOLDER.sub(" ", text)
    text = _ANNOTATION_MARKS.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:-")
    return re.sub(r"\s+([,.?!])", r"\1", text)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def training_labels(folder: Path = TRAINING_DIR) -> Dict[str, str]:
    """normalised example -> its intent, over all NLU training data (reviewed files included)."""
    labels: Dict[str, str] = {}
    for path in sorted(folder.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = data.get("nlu") if isinstance(data, dict) else None
        for entry in entries or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("examples"), str):
                continue
            for line in entry["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    plain = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:])
                    labels[normalise(plain)] = str(entry.get("intent"))
    return labels


def evaluation_texts(folder: Path = EVALUATION_DIR) -> Set[str]:
    """Every string in the evaluation sets (YAML anywhere under tests/data), normalised."""
    texts: Set[str] = set()
    for path in sorted(folder.rglob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        for value in _strings(data):
            for line in value.splitlines():
                line = line.strip()
                texts.add(normalise(line[2:] if line.startswith("- ") else line))
    return texts


def intent_for(item: Dict[str, Any]) -> str:
    if item["status"] == OUT_OF_SCOPE:
        return "out_of_scope"
    return f"{RETRIEVAL_INTENT}/{item['decided_topic']}"


def file_for(intent: str, folder: Path) -> Path:
    return folder / f"{intent.split('/', 1)[-1]}.yml"


@dataclass
class ExportReport:
    written: Dict[str, int] = field(default_factory=dict)  # file -> examples
    already_known: int = 0
    in_evaluation: int = 0
    conflicting: int = 0
    empty: int = 0
    exported_ids: List[int] = field(default_factory=list)

    def lines(self) -> List[str]:
        out = [f"{path}: {n} new examples" for path, n in sorted(self.written.items())] or ["No new examples."]
        for n, what in (
            (self.already_known, "already in the training data"),
            (self.in_evaluation, "in an evaluation set under tests/data/ (kept out of training)"),
            (self.conflicting, "decided two ways (same words, different topics): decide them again"),
            (self.empty, "left with no words once names and numbers were taken out"),
        ):
            if n:
                out.append(f"Left out {n} {what}.")
        return out


def _header(intent: str) -> str:
    return (
        'version: "3.1"\n'
        f"# Patient questions that reviewers assigned to {intent} in the nurse console's review queue,\n"
        "# written by `make review-export` (appended to, never rewritten). Each block says who reviewed its\n"
        "# examples and when. Names, phone numbers and e-mail addresses were taken out before review, and no\n"
        "# example here is in an evaluation set (tests/data/).\n"
        "nlu:\n"
    )


def _block(intent: str, reviewer: str, day: str, examples: List[str]) -> str:
    lines = [
        f"  # reviewed by {reviewer} on {day} ({len(examples)} example{'s' if len(examples) != 1 else ''})",
        f"  - intent: {intent}",
        "    examples: |",
    ]
    lines += [f"      - {text}" for text in examples]
    return "\n".join(lines) + "\n"


def export(
    review: ReviewStore,
    folder: Path = REVIEWED_DIR,
    actor: str = "review-export",
    training_dir: Path = TRAINING_DIR,
    evaluation_dir: Path = EVALUATION_DIR,
) -> ExportReport:
    report = ExportReport()
    items = review.to_export()
    if not items:
        return report
    known = training_labels(training_dir)
    held_out = evaluation_texts(evaluation_dir)
    decided_as: Dict[str, Set[str]] = defaultdict(set)
    for item in items:
        decided_as[normalise(example_text(item["text"]))].add(intent_for(item))

    blocks: Dict[str, Dict[Tuple[str, str], List[str]]] = defaultdict(lambda: defaultdict(list))
    seen: Set[str] = set()
    for item in items:
        text = example_text(item["text"])
        key = normalise(text)
        intent = intent_for(item)
        if not key:
            report.empty += 1
        elif key in held_out:
            report.in_evaluation += 1
        elif len(decided_as[key]) > 1:
            report.conflicting += 1
            continue  # stays decided but unexported until a reviewer settles it
        elif key in known or key in seen:
            report.already_known += 1
        else:
            seen.add(key)
            day = (item["decided_at"] or item["at"]).strftime("%Y-%m-%d")
            blocks[intent][(item["decided_by"] or "unknown", day)].append(text)
        report.exported_ids.append(item["id"])

    folder.mkdir(parents=True, exist_ok=True)
    for intent, by_review in sorted(blocks.items()):
        path = file_for(intent, folder)
        text = path.read_text(encoding="utf-8") if path.exists() else _header(intent)
        if not text.endswith("\n"):
            text += "\n"
        for (reviewer, day), examples in sorted(by_review.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            text += _block(intent, reviewer, day, examples)
        path.write_text(text, encoding="utf-8")
        try:
            shown = str(path.relative_to(PROJECT_ROOT))
        except ValueError:
            shown = str(path)
        report.written[shown] = sum(len(e) for e in by_review.values())
    if report.exported_ids:
        review.mark_exported(
            report.exported_ids,
            actor,
            detail=(
                f"items={len(report.exported_ids)} examples={sum(report.written.values())} "
                f"files={','.join(Path(p).name for p in sorted(report.written))}"
            ),
        )
    return report
