"""The red-flag rules as typed data: what the YAML files in ``clinic/data/red_flags/`` may say.

Why classes and not the parsed YAML: the files are written and reviewed by people, and a slip in
them (a misspelt key, ``within: three``, a combination with one list) used to load without a word
and quietly drop a red flag. Each class here names the keys its part of a file may have and
refuses values that make no sense; ``clinic.red_flags.rulefile`` reports the file and line.

The files: one per severity (``crisis.yml``, ``emergency.yml``, ``urgent.yml``), each a mapping of
categories; and ``context.yml``, the ConText cues that set a trigger aside and the words the
detector reads a clause with. ``clinic/data/red_flags/README.md`` explains them to reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from clinic.red_flags.rulefile import Phrases, RuleFileError, Words, build, line_of, mapping_items, read, read_node
from clinic.settings import DATA_DIR
from clinic.severity import Severity

DEFAULT_RULES_DIR = DATA_DIR / "red_flags"
CONTEXT_FILE = "context.yml"


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Combination:
    """One phrase from each list, close together in the same part of a sentence: "throat" +
    "swelling" in "my throat feels like it's swelling"."""

    all_of: Tuple[Phrases, ...]
    # how many words may stand between two of the phrases
    within: int = 3
    in_order: bool = False

    def __post_init__(self) -> None:
        _need(len(self.all_of) >= 2, "a combination needs at least two lists in all_of")
        _need(all(self.all_of), "a list in all_of is empty")
        _need(self.within >= 0, "within must be 0 or more")


@dataclass(frozen=True)
class BenignReading:
    """A harmless sense of some of a category's phrases: the cues that, near one of those
    phrases, make it harmless ("cut myself" + "shaving")."""

    phrases: Phrases
    cues: Phrases
    # how many words either side of the phrase, within its sentence, a cue may be (else 6)
    within: Optional[int] = None

    def __post_init__(self) -> None:
        _need(bool(self.phrases) and bool(self.cues), "a benign reading needs phrases and cues")
        _need(self.within is None or self.within > 0, "a benign reading's within is a number of words above 0")


@dataclass(frozen=True)
class TemperatureReadings:
    """A number at or above the fever thresholds near one of the words ("temp of 101")."""

    words: Phrases
    within: int = 4
    fahrenheit_at_least: float = 100.4
    celsius_at_least: float = 38.0
    # a decimal or degree-sign reading alone ("100.9", "38.6") counts too
    bare_decimals: bool = False
    # a number right after one of these is not a temperature ("$101.50", "room 101.5")
    not_after: Words = frozenset()
    # nor one right before one of these ("100.5 mg", "38.5 hours")
    not_before: Words = frozenset()

    def __post_init__(self) -> None:
        _need(self.within >= 0, "within must be 0 or more")
        _need(95.0 <= self.fahrenheit_at_least <= 108.5, "fahrenheit_at_least must be a fever, 95 to 108.5")
        _need(35.0 <= self.celsius_at_least <= 42.5, "celsius_at_least must be a fever, 35 to 42.5")


@dataclass(frozen=True)
class GlucoseReadings:
    """A blood sugar reading at or above a level near one of the words ("my sugars are 420",
    "anda en 350"), in mg/dL as US meters show it; "the 400s" counts too."""

    words: Phrases
    within: int = 6
    mg_dl_at_least: int = 300
    # a number right after one of these is not a reading ("$350", "room 301")
    not_after: Words = frozenset()
    # nor one right before one of these ("300 mg of gabapentin", "400 calories")
    not_before: Words = frozenset()

    def __post_init__(self) -> None:
        _need(self.within >= 0, "within must be 0 or more")
        _need(180 <= self.mg_dl_at_least <= 600, "mg_dl_at_least must be a high reading, 180 to 600")


@dataclass(frozen=True)
class CategoryRule:
    """A kind of red flag ("breathing_difficulty") and the phrases that report it."""

    name: str
    severity: Severity
    description: str
    # never dismissed as a figure of speech ("i want to kill myself lol" is a crisis)
    explicit: bool = False
    # a family member's report ("my dad keeled over") is taken as happening now
    others_now: bool = False
    # what it reports is an episode already over ("fainted, but I'm fine now"): words saying it is
    # over are part of it, so they do not set it aside
    episode_over: bool = False
    phrases: Phrases = ()
    # matched only as spelled, not in other word forms ("chills", not "chill out")
    exact_phrases: Phrases = ()
    benign_readings: Tuple[BenignReading, ...] = ()
    temperature_readings: Optional[TemperatureReadings] = None
    glucose_readings: Optional[GlucoseReadings] = None
    combinations: Tuple[Combination, ...] = ()

    def __post_init__(self) -> None:
        _need(bool(self.description.strip()), "a description is needed (reviewers read it)")
        _need(
            bool(
                self.phrases
                or self.exact_phrases
                or self.combinations
                or self.temperature_readings
                or self.glucose_readings
            ),
            "no phrases, exact_phrases, combinations or readings: it could never match",
        )
        _need(
            not (self.temperature_readings and self.glucose_readings),
            "temperature_readings or glucose_readings, not both, in one category",
        )


@dataclass(frozen=True)
class ContextCues:
    """The ConText cue lists (phrases, matched like trigger phrases). Where each one reaches and
    what it does is in clinic.red_flags.context; context.yml describes them for reviewers."""

    negation_before_finding: Phrases
    negation_before_verb: Phrases
    pseudo_negation: Phrases
    persisting: Phrases
    resolved: Phrases
    remote_past: Phrases
    present_now: Phrases
    procedure_words: Phrases
    other_person_specific: Phrases
    other_person_generic: Phrases
    self_reference: Phrases
    hypothetical_before: Phrases
    risk_question_before: Phrases
    risk_question_after: Phrases
    normalcy_question: Phrases
    figurative_idioms: Phrases
    figurative_laughter: Phrases
    terminators: Phrases
    # Lists added later; a file without them still loads.
    known_condition: Phrases = ()
    earlier_treatment: Phrases = ()
    other_person_risk_question: Phrases = ()
    reported_speech: Phrases = ()
    negation_after: Phrases = ()
    form_question: Phrases = ()
    form_answer_no: Phrases = ()


@dataclass(frozen=True)
class ClauseWords:
    """Single words the detector reads a clause with: where one starts, who it is about, whether
    it reports or asks. Each is compared with a token's lower-case text (or its lemma, for the
    lists of verbs given by lemma); context.yml says what each is for."""

    question_starters: Words
    clause_starters: Words
    joiners: Words
    list_words: Words
    carry_over: Words
    subject_pronouns: Words
    reporting_lemmas: Words
    modal_lemmas: Words
    light_verb_lemmas: Words
    finite_words: Words
    present_words: Words
    question_auxiliaries: Words
    future_modals: Words
    negated_ability: Words
    first_person: Words
    first_person_contractions: Words
    my_report_words: Words
    reflexive_other: Words
    self_in_trigger: Words
    self_in_crisis_clause: Words
    self_in_crisis_question: Words
    resolved_lead_in: Words
    ended_right_before: Words
    combination_breakers: Words
    # Joiners a denial carries over into a crisis statement ("not depressed or suicidal"); at the
    # others ("no sleep and want to die") the statement is a clause of its own. Optional, so that
    # older context files still load (without them every joiner ends a denial of a crisis).
    negation_carriers: Words = frozenset()
    # How patients type some words, one typed word for one word ("q" -> "que", "xq" -> "porque"):
    # the rules and cues read the word it stands for. Optional (the English file has none).
    spelled_out: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContextFile:
    cues: ContextCues
    words: ClauseWords


@dataclass(frozen=True)
class RedFlagRules:
    """Every category (most severe first, then as written) and the context they are read in."""

    categories: Tuple[CategoryRule, ...]
    cues: ContextCues
    words: ClauseWords
    source: Optional[Path] = None

    def category(self, name: str) -> CategoryRule:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> Dict[str, CategoryRule]:
        return {rule.name: rule for rule in self.categories}


def severity_file(folder: Path, severity: Severity) -> Path:
    return folder / f"{severity.value}.yml"


def read_categories(path: Path, severity: Severity) -> Tuple[Tuple[CategoryRule, int], ...]:
    """A severity's file: ``categories:``, a mapping of category names to their rules (with the
    line each starts on)."""
    top = mapping_items(read_node(path), path, path.name)
    for key, (key_node, _) in top.items():
        if key != "categories":
            raise RuleFileError(path, line_of(key_node), f"unknown key {key!r}; the file has only 'categories'")
    if "categories" not in top:
        raise RuleFileError(path, 1, "'categories' is missing")
    entries = mapping_items(top["categories"][1], path, "categories")
    return tuple(
        (build(CategoryRule, value, path, f"category {name!r}", name=name, severity=severity), line_of(key))
        for name, (key, value) in entries.items()
    )


def load_rules(folder: Union[str, Path, None] = None) -> RedFlagRules:
    """The rules in a folder laid out like ``clinic/data/red_flags/``."""
    folder = Path(folder) if folder else DEFAULT_RULES_DIR
    categories: Dict[str, CategoryRule] = {}
    where: Dict[str, Path] = {}
    for severity in Severity:
        path = severity_file(folder, severity)
        if not path.is_file():
            raise RuleFileError(path, 1, f"the {severity.value} rules file is missing")
        for rule, line in read_categories(path, severity):
            if rule.name in categories:
                raise RuleFileError(path, line, f"category {rule.name!r} is also in {where[rule.name].name}")
            categories[rule.name] = rule
            where[rule.name] = path
    context = read(ContextFile, folder / CONTEXT_FILE)
    return RedFlagRules(tuple(categories.values()), context.cues, context.words, source=folder)
