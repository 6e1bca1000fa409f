"""Red-flag detection for patient messages, in the NegEx / ConText tradition. Pure spaCy.

The vocabulary (trigger phrases per severity and category, and the context cue lists) lives in
``clinic/data/red_flags.yml`` so that clinicians can review it. This module:

1. finds *triggers*: phrases (matched on the lower-cased text and on lemmas, so "pass out" also
   matches "passed out") and *combinations* (a word from each of two or more lists close
   together: "throat" + "swelling" in "my throat feels like it's swelling"), and temperature
   readings ("temp of 101", or a bare "100.9");
2. drops a trigger whose context shows it is not happening to the patient now: negated (before
   or after: "... and i said no"), about someone else (unless that person is in trouble now;
   for collapse and seizure a family member's report counts as now unless it is past, hearsay
   or followed by a question about the patient), hypothetical or a question about a risk, past
   and resolved (or a known, controlled condition; or after an earlier treatment, unless the
   clause is in the present tense), a figure of speech, or a phrase's own harmless reading
   ("cut myself shaving");
3. returns the most severe survivor: crisis > emergency > urgent;
4. if a learned backstop is attached (clinic/red_flags/backstop.py), adds its verdict on the whole
   message when that is more severe than every rule's: it catches what the phrases have no words
   for, and can never lower what a rule found. Where the rules saw that kind of red flag and set
   every mention aside for its context, only a very sure backstop overrides them.

It works on a parsed ``Doc`` from any English pipeline with a tokenizer; lemmas and part-of-speech
tags (tagger + lemmatizer) make it better. It never uses the dependency parse or ``doc.sents``:
Rasa's SpacyNLP disables the parser. Sentence boundaries come from punctuation (and from
``doc.sents`` boundaries only when the doc has them). Scopes are token windows that end at
punctuation, at ConText terminators ("but", "however", ...) and where a new clause starts.

Public API::

    detector = load_detector()              # reads clinic/data/red_flags.yml once
    finding = detector.detect(doc)          # Optional[Finding]
    detector.detect_all(doc)                # every surviving finding, most severe first
    detector.explain(doc)                   # every candidate with the reasons it was dropped
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import yaml
from spacy.tokens import Doc

from clinic.settings import DATA_DIR
from clinic.severity import Severity, rank_of
from clinic.text.matcher import LemmaPhraseMatcher

if TYPE_CHECKING:  # the rules need no scikit-learn; only a caller that attaches a backstop does
    from clinic.red_flags.backstop import LearnedBackstop

DEFAULT_RED_FLAGS_PATH = DATA_DIR / "red_flags.yml"

# Category of a finding made by the learned backstop ("learned_emergency"), not by a phrase rule.
LEARNED_CATEGORY_PREFIX = "learned_"

__all__ = [
    "DEFAULT_RED_FLAGS_PATH",
    "Finding",
    "Candidate",
    "RedFlagDetector",
    "LEARNED_CATEGORY_PREFIX",
    "load_detector",
]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Finding:
    """A red flag in a message: the severity, the category and the phrase as the patient typed it
    (``start``/``end`` are character offsets into ``doc.text``)."""

    severity: str
    category: str
    phrase: str
    start: int
    end: int


@dataclass
class Candidate:
    """A trigger found in a message and the context reasons (if any) it was dropped for."""

    severity: str
    category: str
    start: int  # token offsets
    end: int
    parts: Tuple[Tuple[int, int], ...]
    reasons: List[str] = field(default_factory=list)
    benign_groups: Tuple[int, ...] = ()  # benign-reading groups its phrase belongs to

    @property
    def kept(self) -> bool:
        return not self.reasons


# --------------------------------------------------------------------------------------------
# The detector

_CUE_LISTS = (
    "negation_before_finding",
    "negation_before_verb",
    "pseudo_negation",
    "persisting",
    "resolved",
    "remote_past",
    "present_now",
    "procedure_words",
    "other_person_specific",
    "other_person_generic",
    "self_reference",
    "hypothetical_before",
    "risk_question_before",
    "risk_question_after",
    "question_starters",
    "normalcy_question",
    "figurative_idioms",
    "figurative_laughter",
    "terminators",
    "clause_starters",
)
# Context lists a vocabulary may leave out (they were added later; an older file still loads).
_OPTIONAL_CUE_LISTS = (
    "known_condition",
    "earlier_treatment",
    "other_person_risk_question",
    "reported_speech",
    "negation_after",
)

_HARD_PUNCT = {".", "!", "?", ";", ":", "...", "..", "\u2026", "!!", "??", "?!", "!?"}
_SOFT_PUNCT = {",", "-", "--", "\u2013", "\u2014", "(", ")", "/", "~"}
# Joiners that start a new clause when a clause starter ("i", "my", "it", ...) follows them.
_JOINERS = {"and", "or", "so", "plus", "&", "n", "an", "nd", "also", "cause", "cuz", "coz"}
_FINITE_TAGS = {"VBD", "VBP", "VBZ", "MD"}
_PRESENT_TAGS = {"VBP", "VBZ", "MD"}
_FINITE_WORDS = {
    "is", "are", "was", "were", "am", "has", "have", "had", "do", "does", "did", "can", "could",
    "will", "would", "should", "might", "may", "must", "'s", "'m", "'re", "'ve", "'d", "'ll", "ca",
    "wo", "m", "s", "re", "ve", "get", "got", "gets", "feel", "feels", "felt", "think",
}
_PRESENT_WORDS = {"is", "are", "am", "has", "have", "do", "does", "can", "will", "'s", "'m", "'re",
                  "ca", "wo", "m", "re", "get", "gets", "feel", "feels", "keeps"}
# Verbs of thinking/saying: "i don't think i'm having a reaction" is one clause for negation.
_REPORTING_LEMMAS = {"think", "believe", "feel", "guess", "suppose", "know", "say", "hope", "see",
                     "notice", "reckon", "mean", "seem", "look", "sound", "expect"}
# Words skipped when a scope is extended into the next clause ("... but it went away").
_EXTEND_SKIP = {"and", "it", "that", "this", "which", "they", "then", "now", "i", "im", "he",
                "she", "we", "hes", "shes"}
_MODAL_LEMMAS = {"can", "could", "will", "would", "should", "may", "might", "must", "shall"}
_SUBJECT_PRONOUNS = {"i", "he", "she", "we", "they", "it", "you", "im", "ive", "u"}
# A first-person word after one of these is part of a question or a condition, not a report:
# "can i get an infection?", "will i pass out?", "am i at risk?".
_QUESTION_AUX = {"can", "ca", "could", "will", "wo", "would", "should", "might", "may", "must",
                 "am", "'ll", "shall", "if"}
_FUTURE_MODALS = {"should", "would", "will", "'ll", "ll", "might", "may", "could", "shall", "need",
                  "must", "wo", "'d"}
_NEGATED_ABILITY = {"n't", "nt", "not", "barely", "hardly", "never"}
_SELF_FIRST_PERSON = {"i", "im", "ive", "i'm", "i've", "id", "i'd"}
_REFLEXIVE_OTHER = {"himself", "herself", "themselves", "themself"}
# After "my", these make "my ..." part of a report about the patient's own body or treatment.
_MY_REPORT_WORDS = {
    "throat", "tongue", "lip", "lips", "face", "mouth", "eye", "eyes", "chest", "arm", "arms",
    "leg", "legs", "hand", "hands", "foot", "feet", "back", "neck", "shoulder", "shoulders",
    "knee", "knees", "elbow", "elbows", "hip", "hips", "spine", "skin", "body", "head", "site",
    "injection", "shot", "breathing", "breath", "speech", "words", "side", "heart", "temperature",
    "temp", "fever", "pain", "whole", "left", "right", "upper", "lower", "bandage", "muscle",
}


@dataclass
class _Features:
    """Per-message token features, computed once per detect()."""

    n: int
    lower: List[str]
    lemma: List[str]
    hard: List[bool]  # sentence boundary token (punctuation / sentence start)
    soft: List[bool]  # comma-like
    term: List[bool]  # ConText terminator word
    restart_at: List[bool]  # a new clause starts at this token
    finite: List[bool]
    present: List[bool]
    cues: Dict[str, List[Tuple[int, int]]]
    masked: Set[int]
    trigger_tokens: Set[int]
    first_person_report: List[bool]


def _as_phrase_list(value) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [str(v) for v in value if v is not None]


class RedFlagDetector:
    """Detects red flags in parsed spaCy docs with the vocabulary of a ``red_flags.yml``."""

    # Scope sizes, in words (words inside other symptom phrases are not counted, so that
    # "no fever, chills, redness or swelling" stays in the scope of "no").
    NEGATION_WINDOW = 5
    HYPOTHETICAL_WINDOW = 8
    PAST_WINDOW = 8
    QUESTION_WINDOW = 14
    FIGURATIVE_WINDOW = 6
    LAUGHTER_WINDOW = 2

    def __init__(self, spec: Mapping, source: Optional[Union[str, Path]] = None,
                 backstop: Optional["LearnedBackstop"] = None) -> None:
        self.source = Path(source) if source else None
        # The learned layer for red flags the phrases have no words for; it only adds findings.
        self.backstop = backstop
        self.version = spec.get("version")
        self._triggers = LemmaPhraseMatcher()
        self._cues = LemmaPhraseMatcher()
        self._categories: Dict[str, Tuple[str, bool, str]] = {}  # cat -> (severity, explicit, desc)
        self._combos: List[Tuple[str, str, int, bool, int]] = []  # key, cat, within, ordered, parts
        # category -> (within, fahrenheit minimum, celsius minimum) for temperature readings
        # category -> number of benign-reading groups ("passed out on the couch" = fell asleep)
        self._benign: Dict[str, int] = {}
        self._readings: Dict[str, Tuple[int, float, float]] = {}
        self._bare_readings: Set[str] = set()  # categories where "38.6" / "100.9" alone counts
        # categories where a family member's report ("my dad keeled over") is taken as current
        self._others_now: Set[str] = set()
        severities = spec.get("severities") or {}
        unknown = set(severities) - {s.value for s in Severity}
        if unknown:
            raise ValueError(f"unknown severities in red-flag vocabulary: {sorted(unknown)}")
        for level in Severity:
            severity = level.value
            for category, entry in (severities.get(severity) or {}).items():
                entry = entry or {}
                if category in self._categories:
                    raise ValueError(f"red-flag category {category!r} is listed twice")
                self._categories[category] = (
                    severity,
                    bool(entry.get("explicit", False)),
                    str(entry.get("description", "")).strip(),
                )
                if entry.get("others_now"):
                    self._others_now.add(category)
                self._triggers.add(f"T|{category}", _as_phrase_list(entry.get("phrases")))
                self._triggers.add(
                    f"T|{category}", _as_phrase_list(entry.get("exact_phrases")), exact=True
                )
                for k, group in enumerate(entry.get("benign_readings") or []):
                    self._triggers.add(f"B|{category}|{k}", _as_phrase_list(group.get("phrases")))
                    self._cues.add(f"B|{category}|{k}", _as_phrase_list(group.get("cues")))
                    self._benign[category] = k + 1
                reading = entry.get("temperature_readings")
                if reading:
                    self._triggers.add(f"R|{category}", _as_phrase_list(reading.get("words")))
                    self._readings[category] = (
                        int(reading.get("within", 4)),
                        float(reading.get("fahrenheit_at_least", 100.4)),
                        float(reading.get("celsius_at_least", 38.0)),
                    )
                    if reading.get("bare_decimals"):
                        self._bare_readings.add(category)
                for i, combo in enumerate(entry.get("combinations") or []):
                    lists = combo.get("all_of") or []
                    if len(lists) < 2:
                        raise ValueError(f"{category}: a combination needs at least two lists")
                    key = f"C|{category}|{i}"
                    for j, words in enumerate(lists):
                        self._triggers.add(f"{key}|{j}", _as_phrase_list(words))
                    self._combos.append(
                        (key, category, int(combo.get("within", 3)), bool(combo.get("in_order")),
                         len(lists))
                    )
        context = spec.get("context") or {}
        missing = [name for name in _CUE_LISTS if name not in context]
        if missing:
            raise ValueError(f"red-flag vocabulary lacks context lists: {missing}")
        for name in _CUE_LISTS + _OPTIONAL_CUE_LISTS:
            self._cues.add(name, _as_phrase_list(context.get(name)))
        self._single_words: Dict[str, FrozenSet[str]] = {
            name: frozenset(p.lower() for p in _as_phrase_list(context.get(name)) if " " not in p)
            for name in ("question_starters", "clause_starters")
        }

    # ---------------------------------------------------------------- public API

    @property
    def categories(self) -> Dict[str, str]:
        """Category -> severity."""
        return {cat: sev for cat, (sev, _, _) in self._categories.items()}

    def describe(self, category: str) -> str:
        if category.startswith(LEARNED_CATEGORY_PREFIX):
            return "described in the patient's own words (learned backstop)"
        return self._categories[category][2]

    def detect(self, doc: Optional[Doc]) -> Optional[Finding]:
        """The most severe red flag in the message (crisis > emergency > urgent), or None."""
        findings = self.detect_all(doc)
        return findings[0] if findings else None

    def detect_all(self, doc: Optional[Doc]) -> List[Finding]:
        """Every red flag that survives its context, most severe first, then in text order; the
        backstop's finding (the whole message) only when it is more severe than every rule's."""
        candidates = self.explain(doc)
        findings = self._rule_findings(doc, [c for c in candidates if c.kept])
        learned = self._backstop_finding(doc, candidates)
        if learned and (not findings or rank_of(learned.severity) > rank_of(findings[0].severity)):
            findings.insert(0, learned)
        return findings

    def _backstop_finding(self, doc: Optional[Doc], candidates: Sequence[Candidate]) -> Optional[Finding]:
        if self.backstop is None or doc is None or not doc.text.strip():
            return None
        judged = self.backstop.judge(doc.text)
        if judged is None:
            return None
        severity, probability = judged
        # The rules saw this kind of red flag and set every mention aside for its context
        # (denied, someone else's, over, a figure of speech): only a very sure backstop overrides.
        set_aside = not any(c.kept for c in candidates) and any(c.severity == severity for c in candidates)
        if set_aside and probability < self.backstop.overrides_context_at:
            return None
        text = doc.text
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        return Finding(severity, f"{LEARNED_CATEGORY_PREFIX}{severity}", text[start:end], start, end)

    def _rule_findings(self, doc: Optional[Doc], kept: List[Candidate]) -> List[Finding]:
        kept = sorted(kept, key=lambda c: (-rank_of(c.severity), c.start, -(c.end - c.start)))
        findings: List[Finding] = []
        for c in kept:
            start_char = doc[c.start].idx
            end_char = doc[c.end - 1].idx + len(doc[c.end - 1].text)
            findings.append(
                Finding(c.severity, c.category, doc.text[start_char:end_char], start_char, end_char)
            )
        return findings

    def explain(self, doc: Optional[Doc]) -> List[Candidate]:
        """Every trigger found, with the context reasons for dropping it (empty = kept)."""
        if doc is None or len(doc) == 0:
            return []
        candidates = self._candidates(doc)
        if not candidates:
            return []
        f = self._features(doc, candidates)
        for c in candidates:
            self._judge(c, f)
        return candidates

    # ---------------------------------------------------------------- triggers

    def _candidates(self, doc: Doc) -> List[Candidate]:
        matches = self._triggers(doc)
        out: List[Candidate] = []
        seen: Set[Tuple[str, int, int]] = set()
        parts: Dict[str, List[Tuple[int, int]]] = {}
        for key, s, e in matches:
            if key.startswith("T|"):
                category = key[2:]
                if (category, s, e) in seen:
                    continue
                seen.add((category, s, e))
                out.append(Candidate(self._categories[category][0], category, s, e, ((s, e),)))
            else:
                parts.setdefault(key, []).append((s, e))
        hard = [_is_hard(t) for t in doc] if parts else []
        for category, (within, f_min, c_min) in self._readings.items():
            words = parts.get(f"R|{category}") or []
            bare = category in self._bare_readings
            if not words and not bare:
                continue
            hard = hard or [_is_hard(t) for t in doc]
            for t in doc:
                if not _is_fever_reading(t.text, f_min, c_min) or _not_a_reading(doc, t.i):
                    continue
                paired = False
                for s, e in words:
                    gap = range(e, t.i) if t.i >= e else range(t.i + 1, s)
                    if len(gap) <= within and not any(hard[i] for i in gap):
                        paired = True
                        lo, hi = min(s, t.i), max(e, t.i + 1)
                        if (category, lo, hi) not in seen:
                            seen.add((category, lo, hi))
                            out.append(Candidate(self._categories[category][0], category, lo, hi,
                                                 tuple(sorted([(s, e), (t.i, t.i + 1)]))))
                        break
                if not paired and bare and _is_bare_reading(doc, t.i):
                    # "achy all over and 100.9", "im at 38.6": a decimal (or degree-sign)
                    # reading in the fever range is a temperature without any other word
                    if (category, t.i, t.i + 1) not in seen:
                        seen.add((category, t.i, t.i + 1))
                        out.append(Candidate(self._categories[category][0], category, t.i,
                                             t.i + 1, ((t.i, t.i + 1),)))
        if parts:
            for key, category, within, ordered, n_parts in self._combos:
                lists = [parts.get(f"{key}|{j}") for j in range(n_parts)]
                if not all(lists):
                    continue
                for combo in _combine(lists, within, ordered, hard, doc):
                    s = min(p[0] for p in combo)
                    e = max(p[1] for p in combo)
                    if (category, s, e) in seen:
                        continue
                    seen.add((category, s, e))
                    out.append(
                        Candidate(self._categories[category][0], category, s, e,
                                  tuple(sorted(combo)))
                    )
        for c in out:
            # benign readings of a phrase or of one part of a combination
            # ("saving my pills for bad days", "hives, breathing is fine")
            n_groups = self._benign.get(c.category, 0)
            if n_groups:
                c.benign_groups = tuple(
                    k for k in range(n_groups)
                    if any(span in parts.get(f"B|{c.category}|{k}", ()) for span in c.parts)
                )
        return out

    # ---------------------------------------------------------------- features

    def _features(self, doc: Doc, candidates: Sequence[Candidate]) -> _Features:
        n = len(doc)
        lower = [t.lower_ for t in doc]
        has_lemma = doc.has_annotation("LEMMA")
        lemma = [t.lemma_.lower() if has_lemma else t.lower_ for t in doc]
        has_tag = doc.has_annotation("TAG")
        sentenced = doc.has_annotation("SENT_START")
        hard = [_is_hard(t) for t in doc]
        soft = [t.text in _SOFT_PUNCT for t in doc]
        if has_tag:
            finite = [t.tag_ in _FINITE_TAGS for t in doc]
            present = [t.tag_ in _PRESENT_TAGS for t in doc]
        else:
            finite = [w in _FINITE_WORDS for w in lower]
            present = [w in _PRESENT_WORDS for w in lower]

        cues: Dict[str, List[Tuple[int, int]]] = {}
        for key, s, e in self._cues(doc):
            cues.setdefault(key, []).append((s, e))

        masked: Set[int] = set()
        for s, e in cues.get("pseudo_negation", []):
            masked.update(range(s, e))
        for s, e in cues.get("persisting", []):
            masked.update(range(s, e))
            # the auxiliary before "not stop": "won't stop", "will not stop", "hasn't gone away"
            if s > 0 and not doc[s - 1].is_punct:
                masked.add(s - 1)

        term = [False] * n
        for s, e in cues.get("terminators", []):
            for i in range(s, e):
                term[i] = True

        starters = self._single_words["clause_starters"]
        restart_at = [False] * n
        for i in range(1, n):
            prev = lower[i - 1]
            if lower[i] in starters and (prev in _JOINERS or soft[i - 1] or term[i - 1]):
                restart_at[i] = True
        if sentenced:
            # a parsed doc's sentence starts end every scope (without relying on them otherwise)
            for t in doc:
                if t.i > 0 and t.is_sent_start:
                    restart_at[t.i] = True

        trigger_tokens: Set[int] = set()
        for c in candidates:
            for s, e in c.parts:
                trigger_tokens.update(range(s, e))

        fp = [False] * n
        for i, w in enumerate(lower):
            prev = lower[i - 1] if i > 0 else ""
            if prev in _QUESTION_AUX:
                continue
            if w in _SELF_FIRST_PERSON:
                # "i should watch for", "i'll get": not a report; "i can't breathe" is
                nxt = lower[i + 1] if i + 1 < n else ""
                nxt2 = lower[i + 2] if i + 2 < n else ""
                fp[i] = not (nxt in _FUTURE_MODALS and nxt2 not in _NEGATED_ABILITY)
            elif w == "i" and i + 1 < n and lower[i + 1] in {"'m", "m", "'ve", "ve"}:
                fp[i] = True
            elif w == "my" and i + 1 < n:
                nxt = lower[i + 1]
                nxt2 = lower[i + 2] if i + 2 < n else ""
                if nxt in _MY_REPORT_WORDS or nxt2 in _MY_REPORT_WORDS or (i + 1) in trigger_tokens:
                    fp[i] = True

        return _Features(n, lower, lemma, hard, soft, term, restart_at, finite, present, cues,
                         masked, trigger_tokens, fp)

    # ---------------------------------------------------------------- scopes

    def _scan_back(self, f: _Features, start: int, window: int, lists_ok: bool = True,
                   stop_at_restart: bool = True) -> List[int]:
        """Token positions before `start` in the same clause, nearest first."""
        out: List[int] = []
        count = 0
        pronoun_seen = False
        i = start - 1
        while i >= 0 and count < window:
            if f.hard[i] or f.term[i]:
                break
            if f.soft[i]:
                # a comma only separates list items ("no fever, chills or redness")
                between = range(i + 1, start)
                if lists_ok and all(
                    j in f.trigger_tokens or f.lower[j] in {"and", "or", "nor", "any", "no"}
                    or f.soft[j]
                    for j in between
                ):
                    i -= 1
                    continue
                break
            if (f.finite[i] and pronoun_seen and f.lemma[i] not in _REPORTING_LEMMAS
                    and not (i + 1 < f.n and f.lower[i + 1] in _SUBJECT_PRONOUNS)):
                # a verb before a subject pronoun belongs to an earlier clause:
                # "not sure if this is bad | i can't breathe" (but "will i | pass out" is one)
                break
            out.append(i)
            if f.lower[i] in _SUBJECT_PRONOUNS:
                pronoun_seen = True
            if i not in f.trigger_tokens:
                count += 1
            if stop_at_restart and f.restart_at[i]:
                break
            i -= 1
        return out

    def _scan_forward(self, f: _Features, end: int, window: int, extend: bool = False) -> List[int]:
        """Token positions after `end` in the same clause. With `extend`, continue into a
        following "but it ...", "then ...", ", that was ..." clause (for resolved/past cues)."""
        out: List[int] = []
        count = 0
        i = end
        extended = False
        while i < f.n and count < window:
            boundary = f.hard[i] or f.term[i] or f.soft[i] or (f.restart_at[i] and i > end)
            if boundary:
                if not extend or extended or f.hard[i]:
                    break
                # "... but it went away", "..., then got better", "... and that was years ago"
                j = i + 1 if (f.term[i] or f.soft[i]) else i
                # ("..., i'm in a good place now" too)
                while j < f.n and (f.term[j] or f.soft[j] or f.lower[j] in _EXTEND_SKIP):
                    if f.lower[j] in _EXTEND_SKIP:
                        out.append(j)  # so that "it passed" / "that was years ago" match whole
                    j += 1
                extended = True
                i = j
                continue
            out.append(i)
            if i not in f.trigger_tokens:
                count += 1
            i += 1
        return out

    # ---------------------------------------------------------------- judging

    def _cue_in(self, f: _Features, name: str, positions: Iterable[int],
                exclude: Set[int]) -> Optional[Tuple[int, int]]:
        pos = set(positions)
        for s, e in f.cues.get(name, ()):
            span = range(s, e)
            if any(i in f.masked or i in exclude for i in span):
                continue
            if s in pos and (e - 1) in pos:
                return (s, e)
        return None

    def _judge(self, c: Candidate, f: _Features) -> None:
        own: Set[int] = set()
        for s, e in c.parts:
            own.update(range(s, e))
        gap = [i for i in range(c.start, c.end) if i not in own]
        severity = c.severity
        explicit = self._categories[c.category][1]

        back5 = self._scan_back(f, c.start, self.NEGATION_WINDOW)
        back8 = self._scan_back(f, c.start, self.HYPOTHETICAL_WINDOW)
        clause_back = self._scan_back(f, c.start, self.QUESTION_WINDOW)
        fwd5 = self._scan_forward(f, c.end, 5)
        fwd_past = self._scan_forward(f, c.end, self.PAST_WINDOW, extend=True)
        clause = set(clause_back) | set(range(c.start, c.end)) | set(self._scan_forward(f, c.end, 10))

        # 1. negation: "no fever", "not bleeding anymore", "my throat isn't swollen"
        neg = self._cue_in(f, "negation_before_verb", back5 + gap, own)
        if neg is None:
            det = self._cue_in(f, "negation_before_finding", back5 + gap, own)
            if det is not None and not any(
                f.finite[i] and f.lemma[i] not in {"have", "be"} for i in range(det[1], c.start)
                if i not in own
            ):
                # "no fever" / "no signs of a fever" but not "no, i have a fever"
                if not (det[1] < f.n and f.lower[det[1]] in _SUBJECT_PRONOUNS):
                    neg = det
        if neg is None:
            # a denial after it: "they asked if i had thoughts of suicide and i said no"
            neg = self._cue_in(f, "negation_after", fwd_past, own)
        if neg is not None:
            c.reasons.append(f"negated by {self._span_text(f, neg)!r}")

        # 2. past and resolved: "had a fever last year", "was dizzy but it went away"
        resolved = self._cue_in(f, "resolved", fwd_past + gap, own) or self._cue_in(
            f, "resolved", [i for i in back8 if f.lower[i] in {"got", "get", "rid", "of", "no",
                                                               "longer"}], own)
        if resolved is None and c.start > 0 and f.lower[c.start - 1] == "stopped" \
                and (c.start - 1) not in f.masked:
            resolved = (c.start - 1, c.start)  # "it stopped bleeding after a minute of pressure"
        if resolved is not None:
            c.reasons.append(f"resolved: {self._span_text(f, resolved)!r}")
        fwd_clause = self._scan_forward(f, c.end, self.PAST_WINDOW)
        remote = self._cue_in(f, "remote_past", back8 + fwd_past + gap, own)
        remote_label = "in the past"
        if remote is None and severity != "crisis":
            # "my husband has seizures but they're controlled": a known, managed condition
            remote = self._cue_in(f, "known_condition", back8 + fwd_past + gap, own)
            remote_label = "a known, controlled condition"
        if remote is None:
            # "got a rash after my last injection": history unless the clause says it is now
            # ("i have a rash since my last shot" stays)
            earlier = self._cue_in(f, "earlier_treatment", back8 + fwd_past + gap, own)
            if earlier is not None and not any(
                f.present[i] and f.lemma[i] not in _MODAL_LEMMAS
                for i in set(back8) | set(fwd_clause) | set(gap)
                if i not in own and not earlier[0] <= i < earlier[1]
            ):
                remote, remote_label = earlier, "after an earlier treatment"
        remote_span = set(range(*remote)) if remote else set()
        present_scope = set(back8) | set(fwd_clause) | set(gap)
        if severity == "crisis":
            # "i tried to end it last year and i'm feeling that way again"
            present_scope |= set(fwd_past)
        present_cue = self._cue_in(f, "present_now", present_scope, own | remote_span)
        if remote is not None and present_cue is None:
            c.reasons.append(f"{remote_label}: {self._span_text(f, remote)!r}")

        # 3. hypothetical, conditional, future, habitual (not for crisis phrases)
        if severity != "crisis":
            hypo = self._cue_in(f, "hypothetical_before", back8 + gap, own)
            if hypo is not None:
                c.reasons.append(f"hypothetical: {self._span_text(f, hypo)!r}")

        # 4. a question about a risk rather than a report
        risk = self._cue_in(f, "risk_question_before", back8 + gap, own) or self._cue_in(
            f, "risk_question_after", fwd5, own)
        starts = clause_back[-1] if clause_back else c.start
        # a question opening alone ("what's the point of living like this") never drops a crisis
        # phrase; an explicit risk cue ("is suicide a side effect?") does
        question = (f.lower[starts] in self._single_words["question_starters"]
                    and severity != "crisis")
        if risk is not None or question:
            reports = any(f.first_person_report[i] for i in clause)
            normalcy = self._cue_in(f, "normalcy_question", clause, own) is not None
            if severity == "crisis":
                reports = reports or any(f.lower[i] in {"me", "myself", "my"} for i in clause)
            if not reports and not (normalcy and risk is None):
                cue = self._span_text(f, risk) if risk else f.lower[starts] + " ...?"
                c.reasons.append(f"question about a risk: {cue!r}")

        # 5. someone else
        who = self._who(f, c, own)
        if who == "generic" and severity == "crisis" and any(
            f.lower[i] in {"i", "me", "my", "myself", "im"} for i in clause
        ):
            who = "self"  # "everyone would be better off dead without me"
        if who == "generic":
            c.reasons.append("about people in general")
        elif who == "other":
            now = present_cue is not None or any(
                f.present[i] for i in set(back8) | set(fwd_clause) | own | set(gap)
            ) or self._cue_in(f, "procedure_words", clause, own) is not None
            if not now and c.category in self._others_now:
                # "my dad keeled over in the waiting room": a family member reporting a collapse
                # or a seizure is reporting it now, unless it is hearsay ("my neighbor said she
                # passed out during her injection"), or told with a laugh ("... lol")
                now = (self._cue_in(f, "reported_speech", range(0, c.start), own) is None
                       and self._cue_in(f, "figurative_laughter", range(f.n), own) is None)
            # "my friend got a collapsed lung from acupuncture, can that happen w these shots?"
            later = self._cue_in(f, "risk_question_after", range(c.end, f.n), own) or (
                None if present_cue is not None else
                self._cue_in(f, "other_person_risk_question", range(c.end, f.n), own))
            if remote is not None and present_cue is None:
                pass  # already dropped as past
            elif later is not None:
                c.reasons.append(f"about someone else, asking about a risk: {self._span_text(f, later)!r}")
            elif not now:
                c.reasons.append("about someone else, not happening now")

        # 6. figures of speech (never the general idioms for explicit crisis phrases; a phrase's
        # own benign readings - "cut myself shaving", "hope i don't wake up sore" - always apply)
        if not explicit or c.benign_groups:
            near = set(self._scan_back(f, c.start, self.FIGURATIVE_WINDOW, stop_at_restart=False))
            near |= set(self._scan_forward(f, c.end, self.FIGURATIVE_WINDOW))
            idiom = None if explicit else self._overlapping_or_in(f, "figurative_idioms", c, near)
            benign = None
            if idiom is None and c.benign_groups:
                # a benign reading's cue may sit past a comma or a "because" ("my daughter had a
                # fit because she didn't want to come"), but not in another sentence
                plain = set(near)
                for step, limit in ((-1, -1), (1, f.n)):
                    i = (c.start - 1) if step < 0 else c.end
                    count = 0
                    while i != limit and count < self.FIGURATIVE_WINDOW and not f.hard[i]:
                        plain.add(i)
                        count += 1
                        i += step
                for k in c.benign_groups:
                    benign = self._overlapping_or_in(f, f"B|{c.category}|{k}", c, plain)
                    if benign is not None:
                        break
            if idiom is not None:
                c.reasons.append(f"figure of speech: {self._span_text(f, idiom)!r}")
            elif benign is not None:
                c.reasons.append(f"harmless reading: {self._span_text(f, benign)!r}")
            elif severity != "crisis" and not explicit:
                close = set(range(max(0, c.start - self.LAUGHTER_WINDOW), c.start))
                close |= set(range(c.end, min(f.n, c.end + self.LAUGHTER_WINDOW + 1)))
                laugh = self._cue_in(f, "figurative_laughter", close, own)
                if laugh is not None:
                    c.reasons.append(f"joking: {self._span_text(f, laugh)!r}")

    def _overlapping_or_in(self, f: _Features, name: str, c: Candidate,
                           near: Set[int]) -> Optional[Tuple[int, int]]:
        for s, e in f.cues.get(name, ()):
            # (a benign reading's cues are plain words: "went down to get the car" is not masked
            # by the pseudo-negation "go down to")
            if not name.startswith("B|") and any(i in f.masked for i in range(s, e)):
                continue
            overlaps = s < c.end and e > c.start
            if overlaps or (s in near and (e - 1) in near):
                return (s, e)
        return None

    def _who(self, f: _Features, c: Candidate, own: Set[int]) -> str:
        """'self', 'other' (a particular person) or 'generic' (people in general)."""
        if any(f.lower[i] in _REFLEXIVE_OTHER for i in own):
            return "other"
        if any(f.lower[i] in {"me", "myself", "my", "i", "mine", "im"} for i in own):
            return "self"  # "everyone would be better off without me"
        marks: Dict[int, str] = {}
        for name, label in (("other_person_specific", "other"), ("other_person_generic", "generic"),
                            ("self_reference", "self")):
            for s, e in f.cues.get(name, ()):
                for i in range(s, e):
                    # "my husband": the person is the husband, not "my"
                    if label == "self" and i in marks:
                        continue
                    marks[i] = label
        for i in range(c.start - 1, -1, -1):
            if i in marks:
                label = marks[i]
                if label == "self" and f.lower[i] == "my" and marks.get(i + 1) in {"other", "generic"}:
                    return marks[i + 1]
                if label == "self" and f.lower[i] == "me":
                    # "my friend told me she can't breathe": "me" is an object; keep looking
                    continue
                if label == "self" and f.lower[i] == "mine" and i > 0 and f.lower[i - 1] == "of":
                    # "a friend of mine got ...": the person is the friend; keep looking
                    continue
                return label
        # "my throat": a possessive inside the trigger
        for i in sorted(own):
            if i in marks:
                return marks[i]
        return "self"

    @staticmethod
    def _span_text(f: _Features, span: Tuple[int, int]) -> str:
        return " ".join(f.lower[span[0]:span[1]])


_READING = re.compile(r"^(\d{2,3}(?:[.,]\d+)?)(?:°|º)?([fc])?$")


def _is_fever_reading(text: str, f_min: float, c_min: float) -> bool:
    """'38.5', '101', '100.8f', '39c' at or above the fever thresholds."""
    match = _READING.match(text.lower())
    if not match:
        return False
    value = float(match.group(1).replace(",", "."))
    unit = match.group(2)
    # (nobody types a body temperature above 42.5 C / 108.5 F: "at 44" is an age)
    if unit == "c" or (unit is None and 34.0 <= value <= 45.0):
        return c_min <= value <= 42.5
    if unit == "f" or (unit is None and 90.0 <= value <= 115.0):
        return f_min <= value <= 108.5
    return False


_BARE_READING = re.compile(r"^\d{2,3}(?:[.,]\d(?:°|º)?[fc]?|(?:°|º)[fc]?)$")
# Not a temperature: "$101.50", "38.5 hours", "100.5 mg", "room 101.5"
_NOT_READING_BEFORE = {"$", "£", "€", "#", "no", "number", "room", "version", "v", "page", "exit",
                       "route", "fm", "am", "channel", "mile", "miles"}
_NOT_READING_AFTER = {
    "hours", "hour", "hrs", "hr", "h", "minutes", "minute", "mins", "min", "days", "day", "weeks",
    "mg", "mcg", "ml", "cc", "g", "kg", "kgs", "lb", "lbs", "pounds", "kilos", "percent", "%",
    "dollars", "bucks", "miles", "mi", "km", "cm", "mm", "inches", "ft", "feet", "units",
    "mmol", "/", "fm", "am", "pm", "mph", "bpm", "years", "yrs", "seconds", "secs", "x",
}


def _is_bare_reading(doc: Doc, i: int) -> bool:
    """'100.9', '38.6', '102°' standing alone, not a price, a dose or a duration."""
    return bool(_BARE_READING.match(doc[i].lower_)) and not _not_a_reading(doc, i)


def _not_a_reading(doc: Doc, i: int) -> bool:
    """A number that is a price, a dose, a duration, a distance ... ("running 40 miles")."""
    return (i > 0 and doc[i - 1].lower_ in _NOT_READING_BEFORE) or (
        i + 1 < len(doc) and doc[i + 1].lower_ in _NOT_READING_AFTER)


def _is_hard(token) -> bool:
    text = token.text
    if token.is_space:
        return "\n" in text
    if text in _HARD_PUNCT:
        return True
    return token.is_punct and len(text) > 1 and set(text) <= set(".!?")


def _combine(lists: Sequence[List[Tuple[int, int]]], within: int, ordered: bool,
             hard: List[bool], doc: Doc) -> List[Tuple[Tuple[int, int], ...]]:
    """Span combinations, one from each list, close together and not across a sentence end."""
    results: List[Tuple[Tuple[int, int], ...]] = []
    for first in lists[0]:
        chosen = [first]
        ok = True
        for later in lists[1:]:
            best = None
            best_gap = None
            for span in later:
                if any(span[0] < c[1] and span[1] > c[0] for c in chosen):
                    continue  # overlapping
                if ordered and span[0] < chosen[-1][1]:
                    continue
                if span[0] >= chosen[-1][1]:
                    gap = range(chosen[-1][1], span[0])
                else:
                    gap = range(span[1], chosen[-1][0])
                if len(gap) > within:
                    continue
                if any(hard[i] or doc[i].lower_ in ("but", "however", "though", "although")
                       for i in gap):
                    continue
                if best_gap is None or len(gap) < best_gap:
                    best, best_gap = span, len(gap)
            if best is None:
                ok = False
                break
            chosen.append(best)
        if ok:
            results.append(tuple(chosen))
    return results


# --------------------------------------------------------------------------------------------
# Loading


def load_detector(path: Optional[Union[str, Path]] = None,
                  backstop: Optional["LearnedBackstop"] = None) -> RedFlagDetector:
    """Reads the red-flag vocabulary (default: clinic/data/red_flags.yml) into a detector, with
    the learned backstop if one is given (clinic.red_flags.backstop.load_backstop)."""
    path = Path(path) if path else DEFAULT_RED_FLAGS_PATH
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle) or {}
    return RedFlagDetector(spec, source=path, backstop=backstop)
