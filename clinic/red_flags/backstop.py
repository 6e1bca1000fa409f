"""The learned backstop behind the red-flag rules: a linear classifier over word and character
n-grams, trained on labelled patient messages, for red flags the phrase rules have no words for
("feels like breathing through a straw", "no point waking up anymore").

Why a second layer: phrase rules are precise and reviewable but generalise slowly; blind sets
showed them missing symptoms described in the patient's own words. The backstop only ever raises
the severity the rules found, never lowers it, so every rule-based catch stays.

The classifier is fitted when it is loaded (a few seconds), from the reviewed YAML examples in
``clinic/data/red_flag_examples/`` plus the assistant's NLU examples as routine messages, so what
a clinician reviews is exactly what it learned from; nothing is downloaded or pickled. Word
families and the cut-off per severity come from ``clinic/data/red_flag_backstop.yml``; the
cut-offs are chosen by ``scripts/tune_red_flag_backstop.py`` on out-of-fold predictions so that
routine messages rarely reach them.

    backstop = load_backstop(routine=nlu_example_texts)
    backstop.judge("feel like im breathing thru a straw")   # -> ("emergency", 0.81) or None
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from clinic.settings import DATA_DIR
from clinic.severity import Severity

DEFAULT_EXAMPLES_DIR = DATA_DIR / "red_flag_examples"
DEFAULT_SETTINGS_PATH = DATA_DIR / "red_flag_backstop.yml"
NONE = "none"

_APOSTROPHES = re.compile("['\u2019\u2018`]")
# Long messages often bury the red flag in one sentence of a question about something else;
# each sentence is also scored on its own so the rest of the message does not dilute it.
_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+|\s+(?:but|also|and then|plus)\s+")


# Letters typed as digits or symbols inside words ("su1c1de", "k!ll", "s*icide"), and
# text-speak, spelled out so that a message typed that way meets the words the examples use.
_LEET = str.maketrans({"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "4": "a", "@": "a", "$": "s", "*": ""})
_LEET_WORD = re.compile(r"\b(?=[a-z]*[1!|304@$*][a-z])[a-z1!|304@$*]{3,}\b")
_TEXT_SPEAK = [(re.compile(rf"\b{short}\b"), long) for short, long in (
    (r"(want|wanna|going|gonna|have|need|try|trying|ready|wan)\s*2", r"\1 to"),
    (r"u", "you"), (r"ur", "your"), (r"r", "are"), (r"b", "be"), (r"n", "and"), (r"w/", "with"),
    (r"abt", "about"), (r"bc|cuz|coz|cos", "because"), (r"rn", "right now"),
    (r"tonite|2nite", "tonight"), (r"2day", "today"), (r"2morrow|tmrw|tmr", "tomorrow"),
    (r"wanna", "want to"), (r"gonna", "going to"), (r"gotta", "got to"), (r"ded", "dead"),
    (r"pls|plz", "please"), (r"hlp", "help"), (r"idw", "i dont want"), (r"idk", "i dont know"),
    (r"kms", "kill myself"), (r"unalive|unaliving", "kill"), (r"sewer ?slide", "suicide"),
    (r"self[- ]?delete|self[- ]?deleting", "kill myself"), (r"ctb", "suicide"),
    (r"sh", "self harm"), (r"od|oding|oded", "overdose"),
)]


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("can't" = "cant"), letters typed as digits restored,
    text-speak spelled out, spaces collapsed."""
    text = _APOSTROPHES.sub("", text.lower())
    text = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), text)
    for pattern, long in _TEXT_SPEAK:
        text = pattern.sub(long, text)
    return " ".join(text.split())


def pieces(text: str) -> List[str]:
    """The whole message and, when it has several, each of its sentences."""
    whole = normalise(text)
    parts = [p for p in (normalise(s) for s in _SENTENCE_END.split(text)) if len(p) >= 8]
    return [whole] + (parts if len(parts) > 1 else [])


class Families:
    """Word families from the settings file: maps a message to the sequence of family labels its
    words belong to ("my lips are puffing up rn" -> "SELF AIRWAY SWELLING NOW")."""

    def __init__(self, families: Mapping[str, Sequence[str]]) -> None:
        self._patterns: List[Tuple[str, "re.Pattern[str]"]] = []
        for label, words in families.items():
            alternatives = sorted(
                (re.escape(normalise(str(w)).rstrip("*")) + (r"\w*" if str(w).endswith("*") else "")
                 for w in words if str(w).strip()),
                key=len, reverse=True,
            )
            if alternatives:
                self._patterns.append(
                    (label, re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)"))
                )

    def view(self, text: str) -> str:
        hits = sorted(
            (m.start(), label) for label, pattern in self._patterns for m in pattern.finditer(text)
        )
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
        views.append(("families", TfidfVectorizer(preprocessor=families.view, ngram_range=(1, 2),
                                                  token_pattern=r"\S+", lowercase=False,
                                                  sublinear_tf=True)))
    features = FeatureUnion(
        views + [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                      sublinear_tf=True)),
        ]
    )
    return make_pipeline(
        features, LogisticRegression(C=32.0, class_weight="balanced", max_iter=3000)
    )


class LearnedBackstop:
    """A fitted classifier and the probability each severity needs before it is reported."""

    def __init__(self, examples: Sequence[Tuple[str, str]], thresholds: Mapping[str, float],
                 families: Optional[Families] = None, overrides_context_at: float = 1.0) -> None:
        unknown = {name for name in thresholds if Severity.parse(name) is None}
        if unknown:
            raise ValueError(f"backstop thresholds for unknown severities: {sorted(unknown)}")
        self.thresholds = {k: float(v) for k, v in thresholds.items()}
        # The probability above which the backstop overrides the rules' reading of the context.
        self.overrides_context_at = float(overrides_context_at)
        self.size = len(examples)
        self._model = build_classifier(families)
        self._model.fit([normalise(t) for t, _ in examples], [label for _, label in examples])
        self._classes = list(self._model.classes_)

    def probabilities(self, text: str) -> Dict[str, float]:
        """Per label, the highest probability over the message and its sentences."""
        parts = pieces(text)
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


def load_settings(path: Union[str, Path, None] = None) -> Dict:
    return yaml.safe_load(Path(path or DEFAULT_SETTINGS_PATH).read_text(encoding="utf-8")) or {}


def load_backstop(routine: Iterable[str] = ()) -> LearnedBackstop:
    """The backstop fitted on the reviewed examples plus ``routine`` messages (the assistant's
    NLU training examples) labelled as routine, with the settings file's families and cut-offs."""
    settings = load_settings()
    return LearnedBackstop(
        load_examples() + [(t, NONE) for t in routine],
        settings.get("thresholds") or {},
        Families(settings.get("families") or {}),
        float(settings.get("overrides_context_at", 1.0)),
    )
