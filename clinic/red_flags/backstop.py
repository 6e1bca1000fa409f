"""The learned backstop behind the red-flag rules: a linear classifier over word and character
n-grams, trained on labelled patient messages, for red flags the phrase rules have no words for
("feels like breathing through a straw", "no point waking up anymore").

Why a second layer: phrase rules are precise and reviewable but generalise slowly; blind sets
showed them missing symptoms described in the patient's own words. The backstop only ever raises
the severity the rules found, never lowers it, so every rule-based catch stays.

The classifier is fitted when it is loaded (a few seconds), from the reviewed YAML examples in
``clinic/data/red_flag_examples/`` plus the assistant's NLU examples as routine messages, so what
a clinician reviews is exactly what it learned from; nothing is downloaded or pickled. Word
families, text-speak and the cut-off per severity come from ``clinic/data/red_flags/backstop.yml``
(read into ``BackstopSettings``, checked like the rules); the cut-offs are chosen by
``scripts/tune_red_flag_backstop.py`` on out-of-fold predictions so that routine messages rarely
reach them.

    backstop = load_backstop(routine=nlu_example_texts)
    backstop.judge("feel like im breathing thru a straw")   # -> ("emergency", 0.81) or None
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from clinic.red_flags.rulefile import Phrases, read
from clinic.red_flags.spec import DEFAULT_RULES_DIR
from clinic.settings import DATA_DIR
from clinic.severity import Severity

DEFAULT_EXAMPLES_DIR = DATA_DIR / "red_flag_examples"
DEFAULT_SETTINGS_PATH = DEFAULT_RULES_DIR / "backstop.yml"
NONE = "none"


@dataclass(frozen=True)
class TextSpeak:
    """A word as patients type it ("rn", "kms") and what it stands for ("right now", "kill
    myself"); with ``after``, only right after one of those words ("want 2" = "want to")."""

    typed: Phrases
    means: str
    after: Phrases = ()

    def __post_init__(self) -> None:
        if not self.typed or not self.means.strip():
            raise ValueError("text_speak needs typed forms and what they mean")


# the severities the meaning backstop (clinic.red_flags.meaning) judges; urgent stays with the rules
# and the n-gram backstop
MEANING_JUDGES = ("crisis", "emergency")


@dataclass(frozen=True)
class MeaningSettings:
    """What ``backstop.yml`` may say under ``meaning``."""

    # the probability a Spanish message needs before the meaning backstop reports that severity
    thresholds: Dict[str, float]
    # where the rules set every mention of that kind of red flag aside, the probability it needs
    overrides_context_at: float = 1.0
    # the probability of the same severity a Spanish message needs before the n-gram backstop's
    # crisis or emergency on it stands: the n-grams read "morir" in "me duele a morir"
    confirms_learned_at: float = 0.0
    # per severity, what a Spanish message says that gives an ordinary reading to what sounds like
    # that red flag (better thanks to the injections, discharged, fainted and came round): where
    # one is said, no learned finding of that severity stands; the rules alone decide
    reassured_by: Dict[str, Phrases] = field(default_factory=dict)
    # a message of fewer words is not read for its meaning (the rules and the n-grams still read it)
    min_words: int = 1

    def __post_init__(self) -> None:
        if self.min_words < 1:
            raise ValueError("meaning min_words is a count of words, at least 1")
        unknown = [name for name in [*self.thresholds, *self.reassured_by] if name not in MEANING_JUDGES]
        if unknown:
            raise ValueError(f"meaning thresholds only for {', '.join(MEANING_JUDGES)}, not {', '.join(unknown)}")
        if not all(
            0.0 <= p <= 1.0 for p in [*self.thresholds.values(), self.overrides_context_at, self.confirms_learned_at]
        ):
            raise ValueError(
                "meaning thresholds, overrides_context_at and confirms_learned_at are probabilities, from 0 to 1"
            )

    @cached_property
    def _reassurance(self) -> Dict[str, "re.Pattern[str]"]:
        return {
            severity: re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")
            for severity, phrases in self.reassured_by.items()
            if phrases
        }

    def reassured(self, severity: str, folded_lower_text: str) -> bool:
        """Whether the message (lower case, accents folded) says something of ``reassured_by``."""
        pattern = self._reassurance.get(severity)
        return bool(pattern and pattern.search(folded_lower_text))


@dataclass(frozen=True)
class BackstopSettings:
    """What ``backstop.yml`` may say."""

    # the probability a message needs before the backstop reports that severity
    thresholds: Dict[str, float]
    # words that mean the same thing for triage, by family label
    families: Dict[str, Phrases]
    # the probability above which the backstop overrides the rules' reading of the context
    overrides_context_at: float = 1.0
    text_speak: Tuple[TextSpeak, ...] = ()
    # words that end a sentence, besides . ! ? ; and line breaks
    sentence_breaks: Phrases = ()
    # the meaning backstop for Spanish messages (clinic.red_flags.meaning); none when absent
    meaning: Optional[MeaningSettings] = None

    def __post_init__(self) -> None:
        unknown = [name for name in self.thresholds if Severity.parse(name) is None]
        if unknown:
            raise ValueError(f"thresholds for unknown severities: {', '.join(unknown)}")
        probabilities = [*self.thresholds.values(), self.overrides_context_at]
        if not all(0.0 <= p <= 1.0 for p in probabilities):
            raise ValueError("thresholds and overrides_context_at are probabilities, from 0 to 1")


_APOSTROPHES = re.compile("['\u2019\u2018`]")
# Letters typed as digits or symbols inside words ("su1c1de", "k!ll", "s*icide"): spelling, so it
# stays here; the words patients type (text-speak) are in backstop.yml.
_LEET = str.maketrans({"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "4": "a", "@": "a", "$": "s", "*": ""})
_LEET_WORD = re.compile(r"\b(?=[a-z]*[1!|304@$*][a-z])[a-z1!|304@$*]{3,}\b")


def _alternatives(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in words)


def _typed_form(typed: str) -> str:
    """A typed form as a pattern: a hyphen stands for "-", " " or nothing ("self-delete"), a space
    for " " or nothing ("sewer slide")."""
    return "".join("[- ]?" if ch == "-" else " ?" if ch == " " else re.escape(ch) for ch in typed)


def _spelled_out(means: str, after_word: bool) -> Callable[[re.Match[str]], str]:
    """The replacement for a typed form (a function, so that nothing in ``means`` is read as a
    group reference); the word it came after stays."""
    if after_word:
        return lambda match: f"{match.group(1)} {means}"
    return lambda match: means


class Normaliser:
    """Lower case, apostrophes dropped ("can't" = "cant"), letters typed as digits restored,
    text-speak spelled out, spaces collapsed: so that a message typed that way meets the words the
    examples use."""

    def __init__(self, text_speak: Sequence[TextSpeak] = (), sentence_breaks: Sequence[str] = ()) -> None:
        self._text_speak: List[Tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = []
        for entry in text_speak:
            typed = "|".join(_typed_form(t) for t in entry.typed)
            if entry.after:
                pattern = re.compile(rf"\b({_alternatives(entry.after)})\s*(?:{typed})\b")
                self._text_speak.append((pattern, _spelled_out(entry.means, after_word=True)))
            else:
                # Not grouped, as these patterns have been since the backstop was tuned: the word
                # boundaries bind only to the first form's start and the last form's end, so "bc"
                # also rewrites "bcbs" and "oded" the end of "exploded". Grouping them changes what
                # the fitted classifier reads: a change to make together with re-tuning its cut-offs.
                pattern = re.compile(rf"\b{typed}\b")
                self._text_speak.append((pattern, _spelled_out(entry.means, after_word=False)))
        # Long messages often bury the red flag in one sentence of a question about something
        # else; each sentence is also scored on its own so the rest of the message does not
        # dilute it.
        ends = [r"(?<=[.!?;\n])\s+"] + ([rf"\s+(?:{_alternatives(sentence_breaks)})\s+"] if sentence_breaks else [])
        self._sentence_end = re.compile("|".join(ends))

    def __call__(self, text: str) -> str:
        text = _APOSTROPHES.sub("", text.lower())
        text = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), text)
        for pattern, spelled_out in self._text_speak:
            text = pattern.sub(spelled_out, text)
        return " ".join(text.split())

    def pieces(self, text: str) -> List[str]:
        """The whole message and, when it has several, each of its sentences."""
        whole = self(text)
        parts = [p for p in (self(s) for s in self._sentence_end.split(text)) if len(p) >= 8]
        return [whole] + (parts if len(parts) > 1 else [])


@lru_cache(maxsize=1)
def default_normaliser() -> Normaliser:
    settings = load_settings()
    return Normaliser(settings.text_speak, settings.sentence_breaks)


def normalise(text: str) -> str:
    """A message as the backstop reads it, with the settings file's text-speak."""
    return default_normaliser()(text)


def pieces(text: str) -> List[str]:
    """The whole message and, when it has several, each of its sentences."""
    return default_normaliser().pieces(text)


class Families:
    """Word families from the settings file: maps a message to the sequence of family labels its
    words belong to ("my lips are puffing up rn" -> "SELF AIRWAY SWELLING NOW")."""

    def __init__(self, families: Mapping[str, Sequence[str]], normaliser: Optional[Normaliser] = None) -> None:
        normalise = normaliser or default_normaliser()
        self._patterns: List[Tuple[str, re.Pattern[str]]] = []
        for label, words in families.items():
            alternatives = sorted(
                (
                    re.escape(normalise(str(w)).rstrip("*")) + (r"\w*" if str(w).endswith("*") else "")
                    for w in words
                    if str(w).strip()
                ),
                key=len,
                reverse=True,
            )
            if alternatives:
                self._patterns.append((label, re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")))

    def view(self, text: str) -> str:
        hits = sorted((m.start(), label) for label, pattern in self._patterns for m in pattern.finditer(text))
        return " ".join(label for _, label in hits)


def load_examples(examples_dir: Union[str, Path] = DEFAULT_EXAMPLES_DIR) -> List[Tuple[str, str]]:
    """(text, label) pairs from every YAML file in the folder: ``examples:`` or ``vignettes:``
    lists of ``{text, severity}``; severity is crisis, emergency, urgent or none."""
    out: List[Tuple[str, str]] = []
    for path in sorted(Path(examples_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in (data.get("examples") or []) + (data.get("vignettes") or []):
            label = str(item["severity"])
            if label != NONE and Severity.parse(label) is None:
                raise ValueError(f"{path.name}: unknown severity {label!r}")
            out.append((str(item["text"]), label))
    return out


def build_classifier(families: Optional[Families] = None):
    """Word uni- and bigrams (meaning), character 2-5-grams (typos, word forms) and family uni-
    and bigrams (words it never saw), then a balanced multinomial logistic regression: small,
    fast and deterministic."""
    views = []
    if families is not None:
        views.append(
            (
                "families",
                TfidfVectorizer(
                    preprocessor=families.view,
                    ngram_range=(1, 2),
                    token_pattern=r"\S+",
                    lowercase=False,
                    sublinear_tf=True,
                ),
            )
        )
    features = FeatureUnion(
        views
        + [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
        ]
    )
    return make_pipeline(features, LogisticRegression(C=32.0, class_weight="balanced", max_iter=3000))


class LearnedBackstop:
    """A fitted classifier and the probability each severity needs before it is reported."""

    def __init__(
        self,
        examples: Sequence[Tuple[str, str]],
        thresholds: Mapping[str, float],
        families: Optional[Families] = None,
        overrides_context_at: float = 1.0,
        normaliser: Optional[Normaliser] = None,
    ) -> None:
        unknown = {name for name in thresholds if Severity.parse(name) is None}
        if unknown:
            raise ValueError(f"backstop thresholds for unknown severities: {sorted(unknown)}")
        self.thresholds = {k: float(v) for k, v in thresholds.items()}
        # The probability above which the backstop overrides the rules' reading of the context.
        self.overrides_context_at = float(overrides_context_at)
        self.size = len(examples)
        self._normaliser = normaliser or default_normaliser()
        self._model = build_classifier(families)
        self._model.fit([self._normaliser(t) for t, _ in examples], [label for _, label in examples])
        self._classes = list(self._model.classes_)

    def probabilities(self, text: str) -> Dict[str, float]:
        """Per label, the highest probability over the message and its sentences."""
        parts = self._normaliser.pieces(text)
        if not parts[0]:
            return {label: 0.0 for label in self._classes}
        best = np.max(self._model.predict_proba(parts), axis=0)
        return {label: float(p) for label, p in zip(self._classes, best)}

    def judge(self, text: str) -> Optional[Tuple[str, float]]:
        """The most severe severity whose cut-off the message reaches, with its probability."""
        probs = self.probabilities(text)
        # Most severe first: a message that reaches two cut-offs gets the more severe reply.
        for severity in Severity:
            cut = self.thresholds.get(severity.value)
            if cut is not None and probs.get(severity.value, 0.0) >= cut:
                return severity.value, probs[severity.value]
        return None


def load_settings(path: Union[str, Path, None] = None) -> BackstopSettings:
    return read(BackstopSettings, Path(path or DEFAULT_SETTINGS_PATH))


def load_backstop(routine: Iterable[str] = ()) -> LearnedBackstop:
    """The backstop fitted on the reviewed examples plus ``routine`` messages (the assistant's
    NLU training examples) labelled as routine, with the settings file's families, text-speak and
    cut-offs."""
    settings = load_settings()
    normaliser = Normaliser(settings.text_speak, settings.sentence_breaks)
    return LearnedBackstop(
        load_examples() + [(t, NONE) for t in routine],
        settings.thresholds,
        Families(settings.families, normaliser),
        settings.overrides_context_at,
        normaliser,
    )
