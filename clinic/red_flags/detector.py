"""Red-flag detection for patient messages, in the NegEx / ConText tradition. Pure spaCy.

The rules (trigger phrases per severity and category, the context cues and the words clauses are
read with) live in ``clinic/data/red_flags/`` so that clinicians can review them; they are loaded
into typed rules (clinic.red_flags.spec). A message is judged in three steps, each in a module of
its own:

1. triggers (clinic.red_flags.triggers): phrases, combinations and temperature readings;
2. context (clinic.red_flags.context, over the clauses of clinic.red_flags.scope): a trigger is set
   aside when its context shows it is not happening to the patient now, with the stage and the
   rule that said so;
3. here: the most severe survivor wins (crisis > emergency > urgent); and if a learned backstop is
   attached (clinic.red_flags.backstop), its verdict on the whole message is added when that is
   more severe than every rule's: it catches what the phrases have no words for, and can never
   lower what a rule found. Where the rules saw that kind of red flag and set every mention aside
   for its context, only a very sure backstop overrides them.

It works on a parsed ``Doc`` from any English pipeline with a tokenizer; lemmas and part-of-speech
tags (tagger + lemmatizer) make it better. It never uses the dependency parse (Rasa's SpacyNLP
disables the parser).

Public API::

    detector = load_detector()              # reads clinic/data/red_flags/ once
    finding = detector.detect(doc)          # Optional[Finding]
    detector.detect_all(doc)                # every surviving finding, most severe first
    detector.explain(doc)                   # every candidate with the reasons it was set aside
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Union

from spacy.tokens import Doc

from clinic.red_flags import context
from clinic.red_flags.scope import features
from clinic.red_flags.spec import DEFAULT_RULES_DIR, RedFlagRules, load_rules
from clinic.red_flags.triggers import Candidate, TriggerFinder
from clinic.severity import rank_of

if TYPE_CHECKING:  # the rules need no scikit-learn; only a caller that attaches a backstop does
    from clinic.red_flags.backstop import LearnedBackstop

# Category of a finding made by the learned backstop ("learned_emergency"), not by a phrase rule.
LEARNED_CATEGORY_PREFIX = "learned_"

__all__ = [
    "DEFAULT_RULES_DIR",
    "LEARNED_CATEGORY_PREFIX",
    "Candidate",
    "Finding",
    "RedFlagDetector",
    "load_detector",
]


@dataclass(frozen=True)
class Finding:
    """A red flag in a message: the severity ("crisis", as Rasa stores it in the entity), the
    category and the phrase as the patient typed it (``start``/``end`` are character offsets into
    ``doc.text``)."""

    severity: str
    category: str
    phrase: str
    start: int
    end: int


class RedFlagDetector:
    """Detects red flags in parsed spaCy docs with the rules of a ``clinic/data/red_flags/``."""

    def __init__(self, rules: RedFlagRules, backstop: Optional[LearnedBackstop] = None) -> None:
        self.rules = rules
        self.source = rules.source
        # The learned layer for red flags the phrases have no words for; it only adds findings.
        self.backstop = backstop
        self._triggers = TriggerFinder(rules)
        self._cues = context.cue_matcher(rules)

    @property
    def categories(self) -> Dict[str, str]:
        """Category -> severity."""
        return {rule.name: rule.severity.value for rule in self.rules.categories}

    def describe(self, category: str) -> str:
        if category.startswith(LEARNED_CATEGORY_PREFIX):
            return "described in the patient's own words (learned backstop)"
        return self.rules.category(category).description

    def detect(self, doc: Optional[Doc]) -> Optional[Finding]:
        """The most severe red flag in the message (crisis > emergency > urgent), or None."""
        findings = self.detect_all(doc)
        return findings[0] if findings else None

    def detect_all(self, doc: Optional[Doc]) -> List[Finding]:
        """Every red flag that survives its context, most severe first, then in text order; the
        backstop's finding (the whole message) only when it is more severe than every rule's."""
        if doc is None:
            return []
        candidates = self.explain(doc)
        findings = self._rule_findings(doc, [c for c in candidates if c.kept])
        learned = self._backstop_finding(doc, candidates)
        if learned and (not findings or rank_of(learned.severity) > rank_of(findings[0].severity)):
            findings.insert(0, learned)
        return findings

    def explain(self, doc: Optional[Doc]) -> List[Candidate]:
        """Every trigger found, with the reasons for setting it aside (empty = kept); each reason
        names its stage and the rule that matched (``str(reason)`` says both)."""
        if doc is None or len(doc) == 0:
            return []
        candidates = self._triggers.find(doc)
        if not candidates:
            return []
        f = features(doc, candidates, self._cues, self.rules.words)
        for c in candidates:
            c.reasons = context.judge(c, f, self.rules.category(c.category))
        for c in [c for c in candidates if c.kept]:
            # a phrase inside a longer one of its category that was set aside shares its context:
            # "no me falta el aire ni me duele el pecho" denies "duele el pecho" too
            outer = next(
                (
                    o
                    for o in candidates
                    if o.reasons
                    and o.category == c.category
                    and o.start <= c.start
                    and c.end <= o.end
                    and (o.end - o.start) > (c.end - c.start)
                ),
                None,
            )
            if outer is not None:
                c.reasons = list(outer.reasons)
        return candidates

    def _backstop_finding(self, doc: Doc, candidates: Sequence[Candidate]) -> Optional[Finding]:
        if self.backstop is None or not doc.text.strip():
            return None
        judged = self.backstop.judge(doc.text)
        if judged is None:
            return None
        severity, probability = judged
        # only a very sure backstop overrides the rules' reading of the context
        if set_aside_for_context(candidates, severity) and probability < self.backstop.overrides_context_at:
            return None
        text = doc.text
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        return Finding(severity, f"{LEARNED_CATEGORY_PREFIX}{severity}", text[start:end], start, end)

    @staticmethod
    def _rule_findings(doc: Doc, kept: List[Candidate]) -> List[Finding]:
        kept = sorted(kept, key=lambda c: (-c.severity.rank, c.start, -(c.end - c.start)))
        findings: List[Finding] = []
        for c in kept:
            start_char = doc[c.start].idx
            end_char = doc[c.end - 1].idx + len(doc[c.end - 1].text)
            findings.append(Finding(c.severity.value, c.category, doc.text[start_char:end_char], start_char, end_char))
        return findings


def set_aside_for_context(candidates: Sequence[Candidate], severity: str) -> bool:
    """The rules saw this kind of red flag and set every mention aside for its context (denied,
    someone else's, over, a figure of speech): a learned backstop needs to be very sure then."""
    return not any(c.kept for c in candidates) and any(c.severity.value == severity for c in candidates)


def load_detector(path: Union[str, Path, None] = None, backstop: Optional[LearnedBackstop] = None) -> RedFlagDetector:
    """Reads the red-flag rules (default: the folder clinic/data/red_flags/) into a detector, with
    the learned backstop if one is given (clinic.red_flags.backstop.load_backstop)."""
    return RedFlagDetector(load_rules(path), backstop=backstop)
