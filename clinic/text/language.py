"""Which language a patient's message is in, and whether it is clear enough to change the
conversation's language.

The assistant speaks English (the default) and Spanish. A conversation's language is sticky: only a
message that says clearly which language it is in changes it (see ``clinic/data/language.yml``).
:meth:`LanguageDetector.guess` says, for one message, what it shows:

- ``language`` "en" or "es": the message is clearly in that language (enough words and a sure
  detection, or a marker such as "hola" or "english");
- ``language`` "other": the message is clearly in a language the assistant does not speak;
- ``language`` None: the message does not say (too short, numbers, "sí", "ok", unsure).

``likely`` is the supported language the message leans to (for readers that need a guess for
every message, such as the red-flag rules), or None when it leans to neither.

Detection is py3langid's naive Bayes over byte n-grams; its model ships inside the package, so
nothing is downloaded.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Optional, Tuple

import yaml

LANGUAGE_FILE = Path(__file__).resolve().parent.parent / "data" / "language.yml"
ENGLISH, SPANISH, OTHER = "en", "es", "other"

_WORD = re.compile(r"[^\W\d_]{2,}")
_NON_WORD = re.compile(r"[^\w\s]|_|\d")


def plain(text: str) -> str:
    """Lower case, no accents, no punctuation or digits, single spaces: "¡Hola!" -> "hola"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped).split())


def word_count(text: str) -> int:
    """Words of two letters or more; digits, phone numbers and punctuation are not words."""
    return len(_WORD.findall(text or ""))


@dataclass(frozen=True)
class LanguageSpec:
    supported: Tuple[str, ...] = (ENGLISH, SPANISH)
    default: str = ENGLISH
    candidates: Tuple[str, ...] = (ENGLISH, SPANISH)
    min_words: int = 3
    min_confidence: float = 0.9
    other_min_words: int = 4
    other_min_confidence: float = 0.98
    lean_share: float = 0.8
    lean_min_share: float = 0.99
    lean_min_probability: float = 0.05
    other_max_common_share: float = 0.2
    markers: Mapping[str, FrozenSet[str]] = field(default_factory=dict)
    common_words: Mapping[str, FrozenSet[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping) -> "LanguageSpec":
        known = {
            "version",
            "supported",
            "default",
            "candidates",
            "min_words",
            "min_confidence",
            "other_min_words",
            "other_min_confidence",
            "lean_share",
            "lean_min_share",
            "lean_min_probability",
            "other_max_common_share",
            "markers",
            "common_words",
        }
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"language settings: unknown keys {sorted(unknown)}")
        supported = tuple(raw.get("supported") or (ENGLISH, SPANISH))
        candidates = tuple(raw.get("candidates") or supported)
        if not set(supported) <= set(candidates):
            raise ValueError("language settings: every supported language must be a candidate")
        markers = {
            lang: frozenset(plain(str(m)) for m in words or ()) for lang, words in (raw.get("markers") or {}).items()
        }
        common = {
            lang: frozenset(plain(str(w)) for w in words or ())
            for lang, words in (raw.get("common_words") or {}).items()
        }
        if not (set(markers) | set(common)) <= set(supported):
            raise ValueError("language settings: markers and common words only for supported languages")
        return cls(
            supported=supported,
            default=str(raw.get("default") or supported[0]),
            candidates=candidates,
            min_words=int(raw.get("min_words", 3)),
            min_confidence=float(raw.get("min_confidence", 0.9)),
            other_min_words=int(raw.get("other_min_words", 4)),
            other_min_confidence=float(raw.get("other_min_confidence", 0.98)),
            lean_share=float(raw.get("lean_share", 0.8)),
            lean_min_share=float(raw.get("lean_min_share", 0.99)),
            lean_min_probability=float(raw.get("lean_min_probability", 0.05)),
            other_max_common_share=float(raw.get("other_max_common_share", 0.2)),
            markers=markers,
            common_words=common,
        )


@dataclass(frozen=True)
class LanguageGuess:
    language: Optional[str]  # "en", "es", "other", or None: the message does not say
    detected: str  # the detector's best candidate (ISO 639-1), "" for a message without letters
    confidence: float
    words: int
    likely: Optional[str]  # the supported language the message leans to, if any


class LanguageDetector:
    def __init__(self, spec: LanguageSpec) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.spec = spec
        self._identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(spec.candidates))
        # The identifier keeps its numpy buffers between calls: one message at a time.
        self._lock = threading.Lock()

    def _probabilities(self, text: str) -> Dict[str, float]:
        """The detector's probability for each candidate language."""
        identifier = self._identifier
        with self._lock:
            # uint32 feature counts, as langid.py has them (the package's uint16 default saves
            # memory on long documents, which chat messages are not).
            features = identifier.instance2fv(text, datatype="uint32")
            probabilities = identifier.norm_probs(identifier.nb_classprobs(features))
        return {str(code): float(p) for code, p in zip(identifier.nb_classes, probabilities)}

    def guess(self, text: str) -> LanguageGuess:
        text = (text or "").strip()
        words = word_count(text)
        key = plain(text)
        for language, markers in self.spec.markers.items():
            if key in markers:
                return LanguageGuess(language, language, 1.0, words, language)
        if not words:
            return LanguageGuess(None, "", 0.0, 0, None)
        spec = self.spec
        probabilities = self._probabilities(text)
        detected = max(probabilities, key=probabilities.__getitem__)
        confidence = probabilities[detected]
        # Between the languages the assistant speaks, which one the message leans to: short
        # Spanish ("me duele mucho") often reads as French or Italian to the detector, but
        # hardly ever as English.
        supported = {code: probabilities.get(code, 0.0) for code in spec.supported}
        total = sum(supported.values())
        best = max(supported, key=supported.__getitem__)
        share = supported[best] / total if total > 0 else 0.0
        likely = best if share >= spec.lean_share else None
        enough = words >= spec.min_words
        common = {code: sum(1 for w in key.split() if w in spec.common_words.get(code, ())) for code in spec.supported}

        def agrees(code: str) -> bool:
            return all(common[code] >= n for other, n in common.items() if other != code)

        if detected in spec.supported:
            sure = enough and confidence >= spec.min_confidence and agrees(detected)
            return LanguageGuess(detected if sure else None, detected, confidence, words, likely)
        if (
            words >= spec.other_min_words
            and confidence >= spec.other_min_confidence
            and sum(common.values()) <= spec.other_max_common_share * words
        ):
            return LanguageGuess(OTHER, detected, confidence, words, likely)
        # Not sure of another language either: a clear lean to English or Spanish decides.
        sure = enough and share >= spec.lean_min_share and supported[best] >= spec.lean_min_probability and agrees(best)
        return LanguageGuess(best if sure else None, detected, confidence, words, likely)


def load_spec(path: Optional[Path] = None) -> LanguageSpec:
    raw = yaml.safe_load(Path(path or LANGUAGE_FILE).read_text(encoding="utf-8")) or {}
    return LanguageSpec.from_dict(raw)


@lru_cache(maxsize=4)
def _detector_for(path: str) -> LanguageDetector:
    return LanguageDetector(load_spec(Path(path)))


def get_detector(path: Optional[Path] = None) -> LanguageDetector:
    """One detector per settings file for the whole process (the model takes ~1 s to load)."""
    return _detector_for(str(path or LANGUAGE_FILE))


def supported_language(value: object, spec: Optional[LanguageSpec] = None) -> Optional[str]:
    """ "es", "es-MX", "ES", "spanish"... -> "es"; None for anything the assistant does not speak."""
    if not isinstance(value, str):
        return None
    spec = spec or LanguageSpec()
    names: Dict[str, str] = {"english": ENGLISH, "spanish": SPANISH, "espanol": SPANISH, "ingles": ENGLISH}
    key = plain(value.replace("-", " ").replace("_", " "))
    code = names.get(key) or (key.split(" ")[0] if key else "")
    return code if code in spec.supported else None
