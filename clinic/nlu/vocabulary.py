"""The clinic's vocabulary (body parts, medications) as an EntityRuler-like matcher. Pure spaCy.

The words live in ``clinic/data/vocabulary.yml`` (canonical value + variants). Matching is over
lower-cased text and lemmas (see :class:`clinic.text.matcher.LemmaPhraseMatcher`), longest match
wins, and a few ambiguous single words ("back") count only when tagged as a noun/adjective.

Public API::

    vocab = load_vocabulary()                 # reads clinic/data/vocabulary.yml once
    vocab.extract(doc)                        # [{entity, value, start, end, text}, ...]
    extract(doc)                              # the same with the default vocabulary
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

import yaml
from spacy.tokens import Doc
from spacy.util import filter_spans

from clinic.settings import DATA_DIR
from clinic.text.matcher import LemmaPhraseMatcher

DEFAULT_VOCABULARY_PATH = DATA_DIR / "vocabulary.yml"
ENTITY_TYPES: Tuple[str, ...] = ("body_part", "medication")

# Tags that mean "not a noun here": "came back" (RB/RP), "back to work" (RB).
_NON_NOUN_TAGS = {"RB", "RBR", "RBS", "RP", "IN", "TO", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ"}
_NON_NOUN_POS = {"ADV", "ADP", "PART", "VERB", "AUX"}
# Without tags: words that make an ambiguous word a body part when they come just before it.
_NOUN_CONTEXT = {
    "my",
    "the",
    "his",
    "her",
    "your",
    "their",
    "our",
    "a",
    "lower",
    "upper",
    "low",
    "mid",
    "middle",
    "left",
    "right",
    "sore",
    "bad",
    "both",
}

__all__ = ["DEFAULT_VOCABULARY_PATH", "ENTITY_TYPES", "ClinicVocabulary", "load_vocabulary", "extract"]


class ClinicVocabulary:
    """Finds body parts and medications in parsed spaCy docs."""

    def __init__(self, spec: Mapping, source: Optional[Union[str, Path]] = None) -> None:
        self.source = Path(source) if source else None
        self._matcher = LemmaPhraseMatcher()
        self._noun_only: Dict[str, Set[str]] = {}  # key -> single words needing a noun reading
        self.values: Dict[str, List[str]] = {}
        entities = spec.get("entities") or {}
        for entity in entities:
            if entity not in ENTITY_TYPES:
                raise ValueError(f"unknown entity type in vocabulary: {entity!r}")
        for entity in ENTITY_TYPES:
            for value, entry in (entities.get(entity) or {}).items():
                entry = entry or {}
                variants = [str(v) for v in (entry.get("variants") or []) + (entry.get("spanish") or [])]
                if str(value) not in variants:
                    variants.append(str(value).replace("_", " "))
                key = f"{entity}|{value}"
                self._matcher.add(key, variants)
                self._noun_only[key] = {str(w).lower() for w in entry.get("only_as_noun") or []}
                self.values.setdefault(entity, []).append(str(value))

    def extract(self, doc: Optional[Doc]) -> List[Dict[str, Any]]:
        """Entities in the doc: ``{entity, value, start, end, text}`` with character offsets."""
        if doc is None or len(doc) == 0:
            return []
        has_tag = doc.has_annotation("TAG")
        spans = []
        for key, s, e in self._matcher(doc):
            noun_only = self._noun_only.get(key, ())
            if e - s == 1 and (doc[s].lower_ in noun_only or doc[s].lemma_.lower() in noun_only):
                if not _reads_as_noun(doc, s, has_tag):
                    continue
            span = doc[s:e]
            span.label_ = key
            spans.append(span)
        results = []
        for span in sorted(filter_spans(spans), key=lambda sp: sp.start):
            entity, value = span.label_.split("|", 1)
            results.append(
                {
                    "entity": entity,
                    "value": value,
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": span.text,
                }
            )
        return results


def _reads_as_noun(doc: Doc, i: int, has_tag: bool) -> bool:
    token = doc[i]
    before = doc[i - 1].lower_ if i > 0 else ""
    if before in _NOUN_CONTEXT:
        return True
    if has_tag:
        return token.tag_ not in _NON_NOUN_TAGS and token.pos_ not in _NON_NOUN_POS
    return False


def load_vocabulary(path: Optional[Union[str, Path]] = None) -> ClinicVocabulary:
    """Reads the vocabulary (default: clinic/data/vocabulary.yml)."""
    path = Path(path) if path else DEFAULT_VOCABULARY_PATH
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle) or {}
    return ClinicVocabulary(spec, source=path)


_default: Optional[ClinicVocabulary] = None
_default_lock = threading.Lock()


def _default_vocabulary() -> ClinicVocabulary:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = load_vocabulary()
    return _default


def extract(doc: Optional[Doc]) -> List[Dict[str, Any]]:
    """Body parts and medications in the doc, with the default vocabulary file."""
    return _default_vocabulary().extract(doc)
