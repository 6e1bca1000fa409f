"""Phrase matching over lower-cased words and lemmas, shared by the red-flag rules and the clinic
vocabulary (body parts, medications). Imports spaCy only; nothing of the project."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

# Lemmas the English lemmatizer gives to contraction pieces and pronouns. Applied to the tokens
# of a phrase to get its LEMMA pattern, so that "can't breathe" also matches "cannot breathe"
# and "cant breathe" (all lemmatised "can not breathe").
_PIECE_LEMMAS = {
    "ca": "can",
    "n't": "not",
    "nt": "not",
    "wo": "will",
    "'ll": "will",
    "'m": "be",
    "'re": "be",
    "'ve": "have",
    "i": "I",
    "me": "I",
}

_APOSTROPHES = ("'", "\u2019", "\u2018", "`")


@lru_cache(maxsize=1)
def _phrase_tokenizer():
    """The English tokenizer, to split phrases exactly as the pipeline splits messages."""
    import spacy

    return spacy.blank("en").tokenizer


def _split(phrase: str) -> Tuple[str, ...]:
    text = str(phrase).strip().lower()
    for apostrophe in _APOSTROPHES[1:]:
        text = text.replace(apostrophe, "'")
    return tuple(t.text for t in _phrase_tokenizer()(text) if not t.is_space)


def _phrase_variants(phrase: str) -> Set[Tuple[str, ...]]:
    """Token sequences for a phrase: as written, and without apostrophes ("can't" -> "cant")."""
    variants = {_split(phrase)}
    if any(a in phrase for a in _APOSTROPHES):
        stripped = str(phrase)
        for apostrophe in _APOSTROPHES:
            stripped = stripped.replace(apostrophe, "")
        variants.add(_split(stripped))
        # "CANT" typed in capitals is one token (the tokenizer's exceptions are for "cant"/"Cant")
        variants.add(tuple(stripped.lower().split()))
    return {v for v in variants if v}


_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ous", "as", "ys", "'s")


def _singular(word: str) -> str:
    """A noun's singular for lemma patterns ("pills" -> "pill", "hives" -> "hive"). A wrong
    guess ("always" -> "alway") only adds a pattern that matches nothing."""
    if len(word) <= 3 or not word.isalpha() or not word.endswith("s") or word.endswith(_NOT_PLURAL_ENDINGS):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1]


class LemmaPhraseMatcher:
    """spaCy PhraseMatchers over LOWER and over LEMMA for phrases written as plain text.

    Each phrase is matched on the lower-cased token text (as written) and, unless added as
    ``exact``, on lemmas, reading the written words as lemmas: "pass out" matches "passed out"
    (lemmas "pass out") and "can't breathe" matches "cannot breathe". Matchers are built lazily for
    the vocab of the docs they see (so no pipeline is needed to compile them) and rebuilt if a doc
    from another vocab comes along.
    """

    def __init__(self, spelled_out: Optional[Mapping[str, str]] = None) -> None:
        # words read as the word they stand for in the docs matched ("q" -> "que"): a phrase
        # written with them ("pa siempre") is matched as spelled out, as those docs are
        self._spelled_out: Mapping[str, str] = spelled_out or {}
        self._patterns: Dict[str, Set[Tuple[Tuple[str, ...], bool]]] = {}
        self._vocab: Optional[Vocab] = None
        self._lower: Optional[PhraseMatcher] = None
        self._lemma: Optional[PhraseMatcher] = None
        self._keys: Dict[int, str] = {}
        self._lock = threading.Lock()

    def add(self, key: str, phrases: Iterable[str], exact: bool = False) -> None:
        bucket = self._patterns.setdefault(key, set())
        for phrase in phrases:
            if phrase is None or str(phrase).strip() == "":
                continue
            for tokens in _phrase_variants(str(phrase)):
                bucket.add((tuple(self._spelled_out.get(t, t) for t in tokens), exact))
        self._vocab = None  # rebuild on next use

    @property
    def keys(self) -> List[str]:
        return list(self._patterns)

    def _build(self, vocab: Vocab) -> None:
        lower = PhraseMatcher(vocab, attr="LOWER")
        lemma = PhraseMatcher(vocab, attr="LEMMA")
        keys: Dict[int, str] = {}
        for key, patterns in self._patterns.items():
            keys[vocab.strings.add(key)] = key
            lower_docs = []
            lemma_docs = []
            for tokens, exact in sorted(patterns):
                lower_docs.append(Doc(vocab, words=list(tokens)))
                if not exact:
                    lemmas = [_PIECE_LEMMAS.get(t, t) for t in tokens]
                    lemma_docs.append(Doc(vocab, words=list(tokens), lemmas=lemmas))
                    singular = [_singular(t) for t in lemmas]
                    if singular != lemmas:
                        # "swallow all my pills" also matches "swallowing all my pills"
                        # (lemmas "swallow all my pill")
                        lemma_docs.append(Doc(vocab, words=list(tokens), lemmas=singular))
            if lower_docs:
                lower.add(key, lower_docs)
            if lemma_docs:
                lemma.add(key, lemma_docs)
        self._lower, self._lemma, self._keys, self._vocab = lower, lemma, keys, vocab

    def __call__(self, doc: Doc) -> List[Tuple[str, int, int]]:
        if self._vocab is not doc.vocab:
            with self._lock:
                if self._vocab is not doc.vocab:
                    self._build(doc.vocab)
        if len(doc) == 0:
            return []
        assert self._lower is not None and self._lemma is not None
        found = {(self._keys[m], s, e) for m, s, e in self._lower(doc)}
        if doc.has_annotation("LEMMA"):
            found.update((self._keys[m], s, e) for m, s, e in self._lemma(doc))
        return sorted(found, key=lambda x: (x[1], x[2], x[0]))
