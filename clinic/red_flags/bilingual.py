"""Red flags in English and Spanish: the English rules (clinic/data/red_flags/) and the Spanish ones
(clinic/data/red_flags/es/, same layout), one learned backstop behind both.

Every message is read by both rule sets, so a Spanish phrase in an English conversation ("no puedo
respirar") or an English one in a Spanish conversation ("me duele el chest pain") is caught; the
most severe survivor wins. The Spanish rules read a doc of their own: the message lower-cased by
spaCy's Spanish tokenizer, with accents and "ñ" folded letter for letter ("me desmayé" -> "me
desmaye"), so character offsets stay those of the message and the phrases are written without
accents. Spanish has no lemmatizer here: its files list the verb forms.

The backstop (clinic.red_flags.backstop; its examples include Spanish ones) judges the message
once, with the rules of the language it leans to: where those rules saw its kind of red flag and
set every mention aside for its context, only a very sure backstop overrides them.

    detector = load_bilingual()                            # both rule folders, once
    detector.detect(english_doc, text, leans_spanish)      # Optional[Finding]
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, List, Mapping, Optional, Sequence, Union

from spacy.tokens import Doc

from clinic.red_flags.detector import (
    DEFAULT_RULES_DIR,
    LEARNED_CATEGORY_PREFIX,
    Candidate,
    Finding,
    RedFlagDetector,
    load_detector,
    set_aside_for_context,
)
from clinic.severity import rank_of

if TYPE_CHECKING:
    from clinic.red_flags.backstop import LearnedBackstop
    from clinic.red_flags.meaning import MeaningBackstop

SPANISH_RULES_DIR = DEFAULT_RULES_DIR / "es"
# a finding of the meaning backstop is a learned one too: "learned_meaning_crisis"
MEANING_CATEGORY_PREFIX = f"{LEARNED_CATEGORY_PREFIX}meaning_"

# Letter for letter, so that offsets into the folded text are offsets into the message.
_FOLD = str.maketrans("áéíóúüñÁÉÍÓÚÜÑàèìòùÀÈÌÒÙ", "aeiouunAEIOUUNaeiouAEIOU")


def fold(text: str) -> str:
    """Accents and "ñ" folded, letter for letter: "Me desmayé" -> "Me desmaye"."""
    return text.translate(_FOLD)


def _not_set_aside(findings: List[Finding], doc: Doc, candidates: Sequence[Candidate]) -> List[Finding]:
    """The findings that no set-aside candidate of the other rules overlaps."""
    aside = [(doc[c.start].idx, doc[c.end - 1].idx + len(doc[c.end - 1].text)) for c in candidates if not c.kept]
    return [f for f in findings if not any(s < f.end and f.start < e for s, e in aside)]


@lru_cache(maxsize=1)
def _spanish_tokenizer():
    import spacy

    return spacy.blank("es")


def spanish_doc(text: str) -> Doc:
    """The message as typed, for the Spanish side: spaCy's Spanish tokenizer over the folded text."""
    return _spanish_tokenizer()(fold(text or ""))


def spelled_out(typed: Doc, words: Mapping[str, str]) -> Doc:
    """The doc the Spanish rules read: ``typed`` with each word of ``words`` ("q", "pa") as the
    word it stands for. Token for token, so a rule's tokens are the same ones in ``typed``, whose
    offsets are the message's."""
    if not any(t.lower_ in words for t in typed):
        return typed
    return Doc(
        typed.vocab,
        words=[words.get(t.lower_, t.text) for t in typed],
        spaces=[bool(t.whitespace_) for t in typed],
    )


class BilingualDetector:
    def __init__(
        self,
        english: RedFlagDetector,
        spanish: RedFlagDetector,
        backstop: Optional["LearnedBackstop"] = None,
        meaning: Optional["MeaningBackstop"] = None,
    ) -> None:
        self.english = english
        self.spanish = spanish
        self.backstop = backstop
        self.meaning = meaning

    @property
    def backstop(self) -> Optional["LearnedBackstop"]:
        return self.english.backstop

    @backstop.setter
    def backstop(self, backstop: Optional["LearnedBackstop"]) -> None:
        self.english.backstop = backstop
        self.spanish.backstop = backstop

    def detect_all(
        self, english_doc: Optional[Doc], text: str, leans_spanish: bool = False, clearly_english: bool = False
    ) -> List[Finding]:
        """Every red flag either rule set keeps, most severe first; the backstop's (the whole
        message) first when it is more severe than every rule's. A phrase both languages have
        ("convulsion", "no puedo") is read in context by the rules of the language the message
        leans to: when they set it aside ("a mi tía le dio una convulsión de niña"), the other
        language's rules, which do not know its context words, cannot keep it. A message that is
        clearly English (``clearly_english``: enough words, a sure detection) skips the Spanish
        rules, which cost about a millisecond."""
        typed = spanish_doc("" if clearly_english and not leans_spanish else text)
        sdoc = spelled_out(typed, self.spanish.rules.words.spelled_out)
        english = self.english.explain(english_doc) if english_doc is not None else []
        spanish = self.spanish.explain(sdoc)
        english_findings = (
            RedFlagDetector._rule_findings(english_doc, [c for c in english if c.kept])
            if english_doc is not None
            else []
        )
        spanish_findings = [
            Finding(f.severity, f.category, text[f.start : f.end], f.start, f.end)
            for f in RedFlagDetector._rule_findings(typed, [c for c in spanish if c.kept])
        ]
        if leans_spanish:
            english_findings = _not_set_aside(english_findings, typed, spanish)
        elif english_doc is not None:
            spanish_findings = _not_set_aside(spanish_findings, english_doc, english)
        findings = sorted(english_findings + spanish_findings, key=lambda f: (-rank_of(f.severity), f.start))
        meaning = (
            self.meaning.probabilities(text)
            if leans_spanish and self.meaning is not None and len(text.split()) >= self.meaning.settings.min_words
            else None
        )
        if self.backstop is not None:
            judge, doc, candidates = (
                (self.spanish, typed, spanish) if leans_spanish else (self.english, english_doc, english)
            )
            learned = judge._backstop_finding(doc, candidates) if doc is not None else None
            if learned and meaning is not None and not self._confirmed(learned.severity, meaning, sdoc, spanish):
                # what read as an emergency to the n-grams and not to the meaning ("un dolor de
                # cabeza bien fuerte desde las inyecciones del cuello") is still for the nurse
                # line today; a crisis the meaning does not confirm is a figure of speech
                learned = (
                    replace(learned, severity="urgent", category=f"{LEARNED_CATEGORY_PREFIX}urgent")
                    if learned.severity == "emergency"
                    else None
                )
            if learned and (not findings or rank_of(learned.severity) > rank_of(findings[0].severity)):
                # the folded text has the message's offsets; the phrase is the message's own
                findings.insert(
                    0,
                    Finding(
                        learned.severity,
                        learned.category,
                        text[learned.start : learned.end],
                        learned.start,
                        learned.end,
                    ),
                )
        if meaning is not None:
            findings = self._by_meaning(findings, text, sdoc, spanish, meaning)
        return findings

    def _needed(self, severity: str, sdoc: Doc, spanish: Sequence[Candidate], otherwise: float) -> float:
        """The meaning probability a learned ``severity`` on a Spanish message needs: none will do
        where the message gives it an ordinary reading ("le regalé mi andadera porque ya camino");
        a very sure one where the Spanish rules set that kind of red flag aside ("me quiero morir de
        aburrimiento"); else ``otherwise``."""
        assert self.meaning is not None
        settings = self.meaning.settings
        if settings.reassured(severity, sdoc.text.lower()):
            return math.inf
        return settings.overrides_context_at if set_aside_for_context(spanish, severity) else otherwise

    def _confirmed(self, severity: str, meaning: Mapping[str, float], sdoc: Doc, spanish: Sequence[Candidate]) -> bool:
        """Whether the meaning backstop lets the n-gram backstop's ``severity`` on a Spanish message
        stand (it judges crises and emergencies only)."""
        assert self.meaning is not None
        needed = self._needed(severity, sdoc, spanish, self.meaning.settings.confirms_learned_at)
        return severity not in meaning or meaning[severity] >= needed

    def _by_meaning(
        self,
        findings: List[Finding],
        text: str,
        sdoc: Doc,
        spanish: Sequence[Candidate],
        meaning: Mapping[str, float],
    ) -> List[Finding]:
        """The meaning backstop's verdict on a Spanish message (clinic.red_flags.meaning): a crisis
        over anything less, an emergency where nothing was found or only the n-gram backstop's
        urgent (a rule's urgent bleeding or infection stays urgent); as sure as ``_needed`` says,
        and very sure where a rule found another one (oozing blood read as a crisis)."""
        assert self.meaning is not None
        top = rank_of(findings[0].severity) if findings else 0
        only_learned = all(f.category.startswith(LEARNED_CATEGORY_PREFIX) for f in findings)
        for severity, probability in self.meaning.judge(meaning):
            if rank_of(severity) <= top or (severity != "crisis" and not only_learned):
                continue
            needed = self._needed(severity, sdoc, spanish, 0.0)
            if not only_learned:
                needed = max(needed, self.meaning.settings.overrides_context_at)
            if probability >= needed:
                return [self._whole(severity, text), *findings]
            if severity == "emergency" and needed == math.inf and top < rank_of("urgent"):
                # a faint "pero ya me siento bien" is still for the nurse line today
                return [self._whole("urgent", text), *findings]
        return findings

    @staticmethod
    def _whole(severity: str, text: str) -> Finding:
        """The meaning backstop's finding: the whole message."""
        start, end = len(text) - len(text.lstrip()), len(text.rstrip())
        return Finding(severity, f"{MEANING_CATEGORY_PREFIX}{severity}", text[start:end], start, end)

    def detect(
        self, english_doc: Optional[Doc], text: str, leans_spanish: bool = False, clearly_english: bool = False
    ) -> Optional[Finding]:
        findings = self.detect_all(english_doc, text, leans_spanish, clearly_english)
        return findings[0] if findings else None


def load_bilingual(
    english: Union[str, Path, None] = None,
    spanish: Union[str, Path, None] = None,
    backstop: Optional["LearnedBackstop"] = None,
    meaning: Optional["MeaningBackstop"] = None,
) -> BilingualDetector:
    return BilingualDetector(load_detector(english), load_detector(spanish or SPANISH_RULES_DIR), backstop, meaning)
