"""Finding triggers: every place in a message where a category's phrases, combinations or
temperature readings match, before any context is considered.

Why matching is separate from judging: a trigger is a fact about the words alone, and the context
stages (clinic.red_flags.context) then decide, one reason at a time, whether it is happening to
the patient now; explain() can show both halves.

Phrases match on lower-cased words and on lemmas (clinic.text.matcher), so "pass out" also matches
"passed out". A combination is a phrase from each of two or more lists close together ("throat" +
"swelling"), never across a sentence end. A temperature reading is a number in the fever range
near a word like "temp"; for some categories a decimal reading alone ("100.9") counts too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

from spacy.tokens import Doc

from clinic.red_flags.scope import is_hard
from clinic.red_flags.spec import CategoryRule, GlucoseReadings, RedFlagRules, TemperatureReadings
from clinic.severity import Severity
from clinic.text.matcher import LemmaPhraseMatcher

if TYPE_CHECKING:
    from clinic.red_flags.context import Reason

Span = Tuple[int, int]


@dataclass
class Candidate:
    """A trigger found in a message and the context reasons (if any) it was set aside for."""

    severity: Severity
    category: str
    start: int  # token offsets
    end: int
    parts: Tuple[Span, ...]
    reasons: List[Reason] = field(default_factory=list)
    benign_groups: Tuple[int, ...] = ()  # benign-reading groups its phrase belongs to

    @property
    def kept(self) -> bool:
        return not self.reasons


# Matcher keys. The trigger matcher's keys also order its matches (by position, then key), and
# that order decides which of two equal findings comes first, so they keep these spellings.
def phrase_key(category: str) -> str:
    return f"T|{category}"


def benign_key(category: str, group: int) -> str:
    return f"B|{category}|{group}"


def reading_key(category: str) -> str:
    return f"R|{category}"


def combination_key(category: str, index: int) -> str:
    return f"C|{category}|{index}"


@dataclass(frozen=True)
class _Combination:
    key: str
    category: str
    within: int
    ordered: bool
    parts: int


class TriggerFinder:
    """The phrase matcher for every category's triggers, and what it takes to pair their parts."""

    def __init__(self, rules: RedFlagRules) -> None:
        self._rules = rules
        self._matcher = LemmaPhraseMatcher(rules.words.spelled_out)
        self._combinations: List[_Combination] = []
        self._readings: Dict[str, Union[TemperatureReadings, GlucoseReadings]] = {}
        self._benign: Dict[str, int] = {}  # category -> number of benign-reading groups
        self._breakers: FrozenSet[str] = rules.words.combination_breakers
        for rule in rules.categories:
            self._add(rule)

    def _add(self, rule: CategoryRule) -> None:
        category = rule.name
        self._matcher.add(phrase_key(category), rule.phrases)
        self._matcher.add(phrase_key(category), rule.exact_phrases, exact=True)
        for k, group in enumerate(rule.benign_readings):
            self._matcher.add(benign_key(category, k), group.phrases)
            self._benign[category] = k + 1
        readings = rule.temperature_readings or rule.glucose_readings
        if readings:
            self._matcher.add(reading_key(category), readings.words)
            self._readings[category] = readings
        for i, combo in enumerate(rule.combinations):
            key = combination_key(category, i)
            for j, words in enumerate(combo.all_of):
                self._matcher.add(f"{key}|{j}", words)
            self._combinations.append(_Combination(key, category, combo.within, combo.in_order, len(combo.all_of)))

    def _severity(self, category: str) -> Severity:
        return self._rules.category(category).severity

    def find(self, doc: Doc) -> List[Candidate]:
        matches = self._matcher(doc)
        out: List[Candidate] = []
        seen: Set[Tuple[str, int, int]] = set()
        parts: Dict[str, List[Span]] = {}
        for key, s, e in matches:
            if key.startswith("T|"):
                category = key[2:]
                if (category, s, e) in seen:
                    continue
                seen.add((category, s, e))
                out.append(Candidate(self._severity(category), category, s, e, ((s, e),)))
            else:
                parts.setdefault(key, []).append((s, e))
        hard = [is_hard(t) for t in doc] if parts else []
        for category, reading in self._readings.items():
            words = parts.get(reading_key(category)) or []
            if not words and not _bare_decimals(reading):
                continue
            hard = hard or [is_hard(t) for t in doc]
            self._readings_of(doc, category, reading, words, hard, seen, out)
        if parts:
            for combo in self._combinations:
                lists = [parts.get(f"{combo.key}|{j}") or [] for j in range(combo.parts)]
                if not all(lists):
                    continue
                for chosen in _combine(lists, combo.within, combo.ordered, hard, doc, self._breakers):
                    s = min(p[0] for p in chosen)
                    e = max(p[1] for p in chosen)
                    if (combo.category, s, e) in seen:
                        continue
                    seen.add((combo.category, s, e))
                    out.append(Candidate(self._severity(combo.category), combo.category, s, e, tuple(sorted(chosen))))
        for c in out:
            # benign readings of a phrase or of one part of a combination
            # ("saving my pills for bad days", "hives, breathing is fine")
            n_groups = self._benign.get(c.category, 0)
            if n_groups:
                c.benign_groups = tuple(
                    k
                    for k in range(n_groups)
                    if any(span in parts.get(benign_key(c.category, k), ()) for span in c.parts)
                )
        return out

    def _readings_of(
        self,
        doc: Doc,
        category: str,
        reading: Union[TemperatureReadings, GlucoseReadings],
        words: List[Span],
        hard: List[bool],
        seen: Set[Tuple[str, int, int]],
        out: List[Candidate],
    ) -> None:
        severity = self._severity(category)
        for t in doc:
            if not _is_reading(t.text, reading) or _not_a_reading(doc, t.i, reading):
                continue
            paired = False
            for s, e in words:
                gap = range(e, t.i) if t.i >= e else range(t.i + 1, s)
                if len(gap) <= reading.within and not any(hard[i] for i in gap):
                    paired = True
                    lo, hi = min(s, t.i), max(e, t.i + 1)
                    if (category, lo, hi) not in seen:
                        seen.add((category, lo, hi))
                        out.append(Candidate(severity, category, lo, hi, tuple(sorted([(s, e), (t.i, t.i + 1)]))))
                    break
            if not paired and _bare_decimals(reading) and _is_bare_reading(doc, t.i, reading):
                # "achy all over and 100.9", "im at 38.6": a decimal (or degree-sign)
                # reading in the fever range is a temperature without any other word
                if (category, t.i, t.i + 1) not in seen:
                    seen.add((category, t.i, t.i + 1))
                    out.append(Candidate(severity, category, t.i, t.i + 1, ((t.i, t.i + 1),)))


def _bare_decimals(reading: Union[TemperatureReadings, GlucoseReadings]) -> bool:
    return isinstance(reading, TemperatureReadings) and reading.bare_decimals


def _is_reading(text: str, reading: Union[TemperatureReadings, GlucoseReadings]) -> bool:
    if isinstance(reading, GlucoseReadings):
        return _is_glucose_reading(text, reading.mg_dl_at_least)
    return _is_fever_reading(text, reading.fahrenheit_at_least, reading.celsius_at_least)


_GLUCOSE = re.compile(r"^(\d{3})s?$")
# Meters read up to about 600 mg/dL ("HI" above); a bigger number is something else.
_HIGHEST_GLUCOSE = 700


def _is_glucose_reading(text: str, at_least: int) -> bool:
    """'420', '350', '400s' at or above the level."""
    match = _GLUCOSE.match(text.lower())
    return match is not None and at_least <= int(match.group(1)) <= _HIGHEST_GLUCOSE


_READING = re.compile(r"^(\d{2,3}(?:[.,]\d+)?)(?:°|º)?([fc])?$")
# Nobody types a body temperature above these ("at 44" is an age).
_HIGHEST_CELSIUS = 42.5
_HIGHEST_FAHRENHEIT = 108.5


def _is_fever_reading(text: str, f_min: float, c_min: float) -> bool:
    """'38.5', '101', '100.8f', '39c' at or above the fever thresholds."""
    match = _READING.match(text.lower())
    if not match:
        return False
    value = float(match.group(1).replace(",", "."))
    unit = match.group(2)
    if unit == "c" or (unit is None and 34.0 <= value <= 45.0):
        return c_min <= value <= _HIGHEST_CELSIUS
    if unit == "f" or (unit is None and 90.0 <= value <= 115.0):
        return f_min <= value <= _HIGHEST_FAHRENHEIT
    return False


_BARE_READING = re.compile(r"^\d{2,3}(?:[.,]\d(?:°|º)?[fc]?|(?:°|º)[fc]?)$")


def _is_bare_reading(doc: Doc, i: int, reading: Union[TemperatureReadings, GlucoseReadings]) -> bool:
    """'100.9', '38.6', '102°' standing alone, not a price, a dose or a duration."""
    return bool(_BARE_READING.match(doc[i].lower_)) and not _not_a_reading(doc, i, reading)


def _not_a_reading(doc: Doc, i: int, reading: Union[TemperatureReadings, GlucoseReadings]) -> bool:
    """A number that is a price, a dose, a duration, a distance ... ("running 40 miles")."""
    return (i > 0 and doc[i - 1].lower_ in reading.not_after) or (
        i + 1 < len(doc) and doc[i + 1].lower_ in reading.not_before
    )


def _combine(
    lists: Sequence[List[Span]], within: int, ordered: bool, hard: List[bool], doc: Doc, breakers: FrozenSet[str]
) -> List[Tuple[Span, ...]]:
    """Span combinations, one from each list, close together and not across a sentence end."""
    results: List[Tuple[Span, ...]] = []
    for first in lists[0]:
        chosen = [first]
        ok = True
        for later in lists[1:]:
            best: Optional[Span] = None
            best_gap: Optional[int] = None
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
                if any(hard[i] or doc[i].lower_ in breakers for i in gap):
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
