"""The bilingual clinician's review of the Spanish texts patients read.

Every Spanish reply (the ``language: es`` variations in domain.yml) and every Spanish topic title
(clinic/data/topics.yml) is listed in ``clinic/data/spanish_review.yml`` with a
fingerprint of its text, its English counterpart's fingerprint, and its review: ``pending``, or who
approved it and when. A text edited after its review, or whose English text changed, goes back to
``pending``; a test fails while the register is out of date with the texts.

    python -m clinic.tools.spanish_review                 what awaits review, English beside Spanish
    python -m clinic.tools.spanish_review --update        record new or changed texts as pending
    python -m clinic.tools.spanish_review --approve utter_faq/onset --reviewer "Dr. Ana Ruiz"
    python -m clinic.tools.spanish_review --approve all --reviewer "Dr. Ana Ruiz"
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from clinic.settings import DATA_DIR, PROJECT_ROOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
TOPICS_FILE = DATA_DIR / "topics.yml"
REGISTER_FILE = DATA_DIR / "spanish_review.yml"
SPANISH_CONDITION = [{"type": "slot", "name": "language", "value": "es"}]
HEADER = """\
# The bilingual clinician's review of every Spanish text patients read (see the README, "Spanish
# texts"). Written by `python -m clinic.tools.spanish_review --update` and `--approve`; do not edit
# the fingerprints by hand. `review: pending` means no clinician has approved the text as it is now.
"""


def _fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


def _variation_text(variation: Dict) -> str:
    buttons = " | ".join(b.get("title", "") for b in variation.get("buttons") or [])
    return variation.get("text", "") + (f"\n[buttons: {buttons}]" if buttons else "")


def spanish_texts() -> Dict[str, Tuple[str, str]]:
    """{id: (english, spanish)} for every Spanish text patients read."""
    texts: Dict[str, Tuple[str, str]] = {}
    responses = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"]
    for name, variations in responses.items():
        english = next((v for v in variations if not v.get("condition")), None)
        spanish = next((v for v in variations if v.get("condition") == SPANISH_CONDITION), None)
        if english and spanish:
            texts[name] = (_variation_text(english), _variation_text(spanish))
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    for topic_id, spec in topics["topics"].items():
        if spec.get("title_es"):
            texts[f"topic/{topic_id}/title"] = (spec["title"], spec["title_es"])
    names = topics.get("body_part_names_es") or {}
    if names:
        texts["topic/body_part_names_es"] = (", ".join(names), ", ".join(names.values()))
    return texts


def load_register(path: Path = REGISTER_FILE) -> Dict[str, Dict]:
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("texts") or {}


def save_register(entries: Dict[str, Dict], path: Path = REGISTER_FILE) -> None:
    body = yaml.safe_dump({"texts": dict(sorted(entries.items()))}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(HEADER + body, encoding="utf-8")


def out_of_date(register: Optional[Dict[str, Dict]] = None) -> List[str]:
    """Ids whose register entry is missing, stale or left over."""
    register = load_register() if register is None else register
    texts = spanish_texts()
    stale = [
        i
        for i, (en, es) in texts.items()
        if (register.get(i) or {}).get("spanish") != _fingerprint(es)
        or (register.get(i) or {}).get("english") != _fingerprint(en)
    ]
    return sorted(stale + [i for i in register if i not in texts])


def update(register: Dict[str, Dict]) -> Dict[str, Dict]:
    updated = {}
    for text_id, (en, es) in spanish_texts().items():
        entry = register.get(text_id) or {}
        same = entry.get("spanish") == _fingerprint(es) and entry.get("english") == _fingerprint(en)
        updated[text_id] = (
            entry if same else {"english": _fingerprint(en), "spanish": _fingerprint(es), "review": "pending"}
        )
    return updated


def pending(register: Dict[str, Dict]) -> List[str]:
    return sorted(i for i, entry in register.items() if entry.get("review") == "pending")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic.tools.spanish_review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--update", action="store_true", help="record new or changed texts as pending")
    parser.add_argument("--approve", help="a text id, or 'all' for every pending text")
    parser.add_argument("--reviewer", help="who reviewed (with --approve)")
    args = parser.parse_args(argv)
    register = load_register()
    if args.update:
        register = update(register)
        save_register(register)
    if args.approve:
        if not args.reviewer:
            parser.error("--approve needs --reviewer")
        if out_of_date(register):
            parser.error("the register is out of date with the texts: run --update first")
        chosen = pending(register) if args.approve == "all" else [args.approve]
        for text_id in chosen:
            if text_id not in register:
                parser.error(f"no Spanish text {text_id!r}")
            register[text_id]["review"] = f"approved by {args.reviewer} on {date.today().isoformat()}"
        save_register(register)
        print(f"approved {len(chosen)} text(s)")
        return 0
    stale = out_of_date(register)
    if stale:
        print(f"{len(stale)} text(s) not in the register as they are now: run --update", file=sys.stderr)
        return 1
    texts = spanish_texts()
    waiting = pending(register)
    for text_id in waiting:
        english, spanish = texts[text_id]
        print(f"== {text_id}\n   EN: {english}\n   ES: {spanish}\n")
    print(f"{len(waiting)} of {len(register)} Spanish texts await a bilingual clinician's review")
    return 0


if __name__ == "__main__":
    sys.exit(main())
