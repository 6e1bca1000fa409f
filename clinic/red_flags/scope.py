"""Where a context cue can reach: the clause around a trigger, read from a parsed message.

ConText lets a cue act only on findings in its own part of a sentence. Rasa's SpacyNLP disables
the dependency parser, so clauses cannot come from a parse tree or from ``doc.sents``; they are
read from punctuation, from ConText terminators ("but", "however") and from the words that start
a new clause ("... and i", "... and now my"), with part-of-speech tags where the pipeline has a
tagger and word lists where it has not. The words are in ``context.yml`` (``words``); what stays
here is tokenizer-level: punctuation and Penn Treebank tags.

Everything is computed once per message (``MessageFeatures``) because every trigger in the
message is judged against the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Token

from clinic.red_flags.spec import ClauseWords
from clinic.severity import Severity
from clinic.text.matcher import LemmaPhraseMatcher

if TYPE_CHECKING:  # (triggers reads sentence ends from here)
    from clinic.red_flags.triggers import Candidate

Span = Tuple[int, int]

# A sentence ends here (no cue reaches across)...
HARD_PUNCT = {".", "!", "?", ";", ":", "...", "..", "\u2026", "!!", "??", "?!", "!?", "\u00bf", "\u00a1"}
# ...and a clause may end here (a comma also separates list items: see scan_back).
SOFT_PUNCT = {",", "-", "--", "\u2013", "\u2014", "(", ")", "/", "~"}
# Penn Treebank tags of finite verbs (a clause of their own) and of present-tense ones.
FINITE_TAGS = {"VBD", "VBP", "VBZ", "MD"}
PRESENT_TAGS = {"VBP", "VBZ", "MD"}


def is_hard(token: Token) -> bool:
    """A sentence boundary: end punctuation, or a line break."""
    text = token.text
    if token.is_space:
        return "\n" in text
    if text in HARD_PUNCT:
        return True
    return token.is_punct and len(text) > 1 and set(text) <= set(".!?")


@dataclass
class MessageFeatures:
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
    cues: Dict[str, List[Span]]
    masked: Set[int]  # tokens of a pseudo-negation or a "won't stop": no cue may use them
    trigger_tokens: Set[int]
    first_person_report: List[bool]
    words: ClauseWords
    # the tokens of crisis triggers: the items a denied list of crisis statements may hold
    crisis_tokens: Set[int] = field(default_factory=set)

    def text(self, span: Span) -> str:
        return " ".join(self.lower[span[0] : span[1]])


def features(
    doc: Doc, candidates: Sequence[Candidate], cue_matcher: LemmaPhraseMatcher, words: ClauseWords
) -> MessageFeatures:
    n = len(doc)
    lower = [t.lower_ for t in doc]
    has_lemma = doc.has_annotation("LEMMA")
    lemma = [t.lemma_.lower() if has_lemma else t.lower_ for t in doc]
    has_tag = doc.has_annotation("TAG")
    sentenced = doc.has_annotation("SENT_START")
    hard = [is_hard(t) for t in doc]
    soft = [t.text in SOFT_PUNCT for t in doc]
    if has_tag:
        finite = [t.tag_ in FINITE_TAGS for t in doc]
        present = [t.tag_ in PRESENT_TAGS for t in doc]
    else:
        finite = [w in words.finite_words for w in lower]
        present = [w in words.present_words for w in lower]

    cues: Dict[str, List[Span]] = {}
    for key, s, e in cue_matcher(doc):
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

    restart_at = [False] * n
    for i in range(1, n):
        prev = lower[i - 1]
        if lower[i] in words.clause_starters and (prev in words.joiners or soft[i - 1] or term[i - 1]):
            restart_at[i] = True
    if sentenced:
        # a parsed doc's sentence starts end every scope (without relying on them otherwise)
        for t in doc:
            if t.i > 0 and t.is_sent_start:
                restart_at[t.i] = True

    trigger_tokens: Set[int] = set()
    crisis_tokens: Set[int] = set()
    for c in candidates:
        for s, e in c.parts:
            trigger_tokens.update(range(s, e))
            if c.severity is Severity.CRISIS:
                crisis_tokens.update(range(s, e))

    return MessageFeatures(
        n,
        lower,
        lemma,
        hard,
        soft,
        term,
        restart_at,
        finite,
        present,
        cues,
        masked,
        trigger_tokens,
        _first_person_reports(lower, trigger_tokens, words),
        words,
        crisis_tokens,
    )


def _first_person_reports(lower: List[str], trigger_tokens: Set[int], words: ClauseWords) -> List[bool]:
    """Tokens that start a report about the patient ("i can't breathe", "my throat ..."), as
    opposed to a question or a plan ("can i get ...", "i should watch for ...")."""
    n = len(lower)
    fp = [False] * n
    for i, w in enumerate(lower):
        prev = lower[i - 1] if i > 0 else ""
        if prev in words.question_auxiliaries:
            continue
        if w in words.first_person:
            # "i should watch for", "i'll get": not a report; "i can't breathe" is
            nxt = lower[i + 1] if i + 1 < n else ""
            nxt2 = lower[i + 2] if i + 2 < n else ""
            fp[i] = not (nxt in words.future_modals and nxt2 not in words.negated_ability)
        elif w == "i" and i + 1 < n and lower[i + 1] in words.first_person_contractions:
            fp[i] = True
        elif w == "my" and i + 1 < n:
            nxt = lower[i + 1]
            nxt2 = lower[i + 2] if i + 2 < n else ""
            if nxt in words.my_report_words or nxt2 in words.my_report_words or (i + 1) in trigger_tokens:
                fp[i] = True
    return fp


def scan_back(
    f: MessageFeatures,
    start: int,
    window: int,
    lists_ok: bool = True,
    stop_at_restart: bool = True,
    list_of: Optional[Set[int]] = None,
) -> List[int]:
    """Token positions before `start` in the same clause, nearest first. Words of other triggers
    do not count towards the window, so that "no fever, chills, redness or swelling" stays in the
    reach of "no".

    With `list_of` (the tokens of the triggers a list may hold), the reach is that of a denial of
    a crisis statement: a comma passes only when one of those stands right before it ("no
    suicidal thoughts, self harm or plans"), and a joiner only when it is a negation carrier
    ("not depressed or suicidal"); otherwise what follows is a clause of its own ("no appetite,
    want to die", "no como nada y quiero morirme")."""
    out: List[int] = []
    count = 0
    pronoun_seen = False
    i = start - 1
    while i >= 0 and count < window:
        if f.hard[i] or f.term[i]:
            break
        if list_of is not None and f.lower[i] in f.words.joiners and f.lower[i] not in f.words.negation_carriers:
            break
        if f.soft[i]:
            # a comma only separates list items ("no fever, chills or redness")
            between = range(i + 1, start)
            if (
                lists_ok
                and all(j in f.trigger_tokens or f.lower[j] in f.words.list_words or f.soft[j] for j in between)
                and (list_of is None or (i - 1) in list_of)
            ):
                i -= 1
                continue
            break
        if (
            f.finite[i]
            and pronoun_seen
            and f.lemma[i] not in f.words.reporting_lemmas
            and not (i + 1 < f.n and f.lower[i + 1] in f.words.subject_pronouns)
        ):
            # a verb before a subject pronoun belongs to an earlier clause:
            # "not sure if this is bad | i can't breathe" (but "will i | pass out" is one)
            break
        out.append(i)
        if f.lower[i] in f.words.subject_pronouns:
            pronoun_seen = True
        if i not in f.trigger_tokens:
            count += 1
        if stop_at_restart and f.restart_at[i]:
            break
        i -= 1
    return out


def scan_forward(f: MessageFeatures, end: int, window: int, extend: bool = False) -> List[int]:
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
            while j < f.n and (f.term[j] or f.soft[j] or f.lower[j] in f.words.carry_over):
                if f.lower[j] in f.words.carry_over:
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


def cue_in(f: MessageFeatures, name: str, positions: Iterable[int], exclude: Set[int]) -> Optional[Span]:
    """The first cue of the list `name` that lies wholly within `positions` and uses no masked or
    excluded token (the trigger's own words)."""
    pos = set(positions)
    for s, e in f.cues.get(name, ()):
        span = range(s, e)
        if any(i in f.masked or i in exclude for i in span):
            continue
        if s in pos and (e - 1) in pos:
            return (s, e)
    return None


def overlapping_or_in(
    f: MessageFeatures, name: str, c: Candidate, near: Set[int], plain: bool = False
) -> Optional[Span]:
    """A cue that overlaps the trigger or lies within `near`. A `plain` list's cues are ordinary
    words that masking does not apply to ("went down to get the car" is not masked by the
    pseudo-negation "go down to")."""
    for s, e in f.cues.get(name, ()):
        if not plain and any(i in f.masked for i in range(s, e)):
            continue
        overlaps = s < c.end and e > c.start
        if overlaps or (s in near and (e - 1) in near):
            return (s, e)
    return None
