"""The context stages: whether a trigger is happening to the patient now, in the ConText
tradition (Harkema et al.; medspacy's ConText).

Why one function per stage: each stage is a separate clinical judgement (denied, over, in the
past, hypothetical, a question about a risk, someone else's, a figure of speech, a harmless
reading of the phrase itself) with its own cue lists in ``context.yml``, and a reviewer asking
"why was this message not flagged?" needs the one stage and list that set the phrase aside, which
is what each stage's ``Reason`` names. Every stage runs on every trigger, so explain() lists all
the reasons, not only the first.

A stage sees the trigger through a ``Window``: the positions each kind of cue may reach (a few
words back for a denial, the rest of the clause for a question, the next clause for "but it went
away"), computed from the clause boundaries in ``clinic.red_flags.scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Dict, List, Optional, Set, Tuple

from clinic.red_flags.scope import (
    MessageFeatures,
    Span,
    cue_in,
    overlapping_or_in,
    scan_back,
    scan_forward,
)
from clinic.red_flags.spec import CategoryRule, RedFlagRules
from clinic.red_flags.triggers import Candidate, benign_key
from clinic.severity import Severity
from clinic.text.matcher import LemmaPhraseMatcher

# How far each kind of cue reaches, in words (words of other triggers are not counted, so that
# "no fever, chills, redness or swelling" stays in the reach of "no").
NEGATION_WINDOW = 5
HYPOTHETICAL_WINDOW = 8
PAST_WINDOW = 8
QUESTION_WINDOW = 14
FIGURATIVE_WINDOW = 6
LAUGHTER_WINDOW = 2
AFTER_WINDOW = 5
CLAUSE_AFTER_WINDOW = 10


@dataclass(frozen=True)
class Reason:
    """Why a trigger was set aside: the stage, the rule (a cue list of context.yml, or a
    category's benign reading) and what the patient wrote that matched it."""

    stage: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.stage} [{self.rule}]: {self.message}"


def cue_matcher(rules: RedFlagRules) -> LemmaPhraseMatcher:
    """One matcher for every context cue list and every benign reading's cues."""
    matcher = LemmaPhraseMatcher(rules.words.spelled_out)
    for name, phrases in vars(rules.cues).items():
        matcher.add(name, phrases)
    for rule in rules.categories:
        for k, group in enumerate(rule.benign_readings):
            matcher.add(benign_key(rule.name, k), group.cues)
    return matcher


class Window:
    """One trigger in its message: the positions each stage's cues may reach, and the findings
    that two stages share (whether it is in the past, whether something says it is now)."""

    def __init__(self, c: Candidate, f: MessageFeatures, rule: CategoryRule) -> None:
        self.c = c
        self.f = f
        self.rule = rule
        self.crisis = c.severity is Severity.CRISIS
        self.explicit = rule.explicit
        self.own: Set[int] = set()
        for s, e in c.parts:
            self.own.update(range(s, e))
        # words between the parts of a combination ("throat feels like it's swelling")
        self.gap = [i for i in range(c.start, c.end) if i not in self.own]
        # A denial reaches back over a list of negated symptoms ("no fever, chills"). A crisis
        # statement after a comma or an "and" is a clause of its own: a denial of something else
        # must not silence it ("no appetite, want to die", "no como nada, quiero desaparecer"),
        # while its own denial sits right before it ("i don't want to die", "no quiero morir").
        crisis_items = f.crisis_tokens if self.crisis else None
        self.back5 = scan_back(f, c.start, NEGATION_WINDOW, list_of=crisis_items)
        self.back8 = scan_back(f, c.start, HYPOTHETICAL_WINDOW)
        self.clause_back = scan_back(f, c.start, QUESTION_WINDOW)
        self.fwd5 = scan_forward(f, c.end, AFTER_WINDOW)
        self.fwd_past = scan_forward(f, c.end, PAST_WINDOW, extend=True)
        self.fwd_clause = scan_forward(f, c.end, PAST_WINDOW)
        self.clause = (
            set(self.clause_back) | set(range(c.start, c.end)) | set(scan_forward(f, c.end, CLAUSE_AFTER_WINDOW))
        )

    def cue(self, name: str, positions, exclude: Optional[Set[int]] = None) -> Optional[Span]:
        return cue_in(self.f, name, positions, self.own if exclude is None else exclude)

    def reason(self, stage: str, rule: str, message: str) -> Reason:
        return Reason(stage, rule, message)

    @cached_property
    def past(self) -> Optional[Tuple[Span, str, str]]:
        """A cue that puts the trigger in the past: (span, its list, how to say it)."""
        f = self.f
        reach = self.back8 + self.fwd_past + self.gap
        remote = self.cue("remote_past", reach)
        if remote is not None:
            return remote, "remote_past", "in the past"
        if not self.crisis:
            # "my husband has seizures but they're controlled": a known, managed condition
            known = self.cue("known_condition", reach)
            if known is not None:
                return known, "known_condition", "a known, controlled condition"
        # "got a rash after my last injection": history unless the clause says it is now
        # ("i have a rash since my last shot" stays)
        earlier = self.cue("earlier_treatment", reach)
        if earlier is not None and not any(
            f.present[i] and f.lemma[i] not in f.words.modal_lemmas
            for i in set(self.back8) | set(self.fwd_clause) | set(self.gap)
            if i not in self.own and not earlier[0] <= i < earlier[1]
        ):
            return earlier, "earlier_treatment", "after an earlier treatment"
        return None

    @cached_property
    def present_cue(self) -> Optional[Span]:
        """A cue that says it is happening now ("again", "right now"): outweighs the past."""
        scope = set(self.back8) | set(self.fwd_clause) | set(self.gap)
        if self.crisis:
            # "i tried to end it last year and i'm feeling that way again"
            scope |= set(self.fwd_past)
        past_span = set(range(*self.past[0])) if self.past else set()
        return self.cue("present_now", scope, self.own | past_span)

    @property
    def set_in_the_past(self) -> bool:
        return self.past is not None and self.present_cue is None


# ------------------------------------------------------------------------------------------------
# The stages, in the order their reasons are listed. Each returns None when it has no reason.


def negated(w: Window) -> Optional[Reason]:
    """Denied: "no fever", "not bleeding anymore", "my throat isn't swollen", "... and i said no"."""
    f, c = w.f, w.c
    rule = "negation_before_verb"
    # A crisis phrase that carries its own denial ("ya no me van a volver a ver", "i won't be
    # around") is not denied again by an earlier one, which belongs to another verb ("si el lunes
    # no me ponen la inyección ya no me van a volver a ver"): rule round 19, studied on AE.
    own_denial = w.crisis and any(set(range(s, e)) <= w.own for s, e in f.cues.get(rule, ()))
    neg = None if own_denial else w.cue(rule, w.back5 + w.gap)
    if neg is None:
        det = w.cue("negation_before_finding", w.back5 + w.gap)
        if det is not None and not any(
            f.finite[i] and f.lemma[i] not in f.words.light_verb_lemmas
            for i in range(det[1], c.start)
            if i not in w.own
        ):
            # "no fever" / "no signs of a fever" but not "no, i have a fever"
            if not (det[1] < f.n and f.lower[det[1]] in f.words.subject_pronouns):
                neg, rule = det, "negation_before_finding"
    if neg is None:
        # a denial after it: "they asked if i had thoughts of suicide and i said no"
        neg, rule = w.cue("negation_after", w.fwd_past), "negation_after"
    if neg is None:
        return None
    return w.reason("negation", rule, f"negated by {f.text(neg)!r}")


def answered_no_on_a_form(w: Window) -> Optional[Reason]:
    """A form's question quoted and answered no: "the intake form asks if i've ever had thoughts
    of hurting myself. i haven't, so do i just check no?". The answer may come sentences later,
    which no denial's reach allows elsewhere; the question must be in the trigger's sentence (its
    "if i've ever ..." opens a clause of its own, so a clause's reach is too short)."""
    f, c = w.f, w.c
    if w.cue("form_question", _sentence_side(f, c.start - 1, -1, QUESTION_WINDOW) + w.gap) is None:
        return None
    answer = w.cue("form_answer_no", range(c.end, f.n))
    if answer is None:
        return None
    return w.reason("negation", "form_answer_no", f"a form's question, answered no: {f.text(answer)!r}")


def resolved(w: Window) -> Optional[Reason]:
    """Over: "was dizzy but it went away", "got rid of the fever", "it stopped bleeding"."""
    f, c = w.f, w.c
    if w.rule.episode_over:
        return None
    rule = "resolved"
    cue = w.cue(rule, w.fwd_past + w.gap) or w.cue(rule, [i for i in w.back8 if f.lower[i] in f.words.resolved_lead_in])
    if (
        cue is None
        and c.start > 0
        and f.lower[c.start - 1] in f.words.ended_right_before
        and (c.start - 1) not in f.masked
    ):
        cue, rule = (c.start - 1, c.start), "ended_right_before"  # "it stopped bleeding after a minute of pressure"
    if cue is None:
        return None
    return w.reason("resolved", rule, f"resolved: {f.text(cue)!r}")


def in_the_past(w: Window) -> Optional[Reason]:
    """History: "had a fever last year", a known, controlled condition, or after an earlier
    treatment, unless something in the clause says it is happening now."""
    if not w.set_in_the_past:
        return None
    assert w.past is not None
    span, rule, label = w.past
    return w.reason("past", rule, f"{label}: {w.f.text(span)!r}")


def hypothetical(w: Window) -> Optional[Reason]:
    """Conditional, future or habitual: "what if i get a fever", "i always faint with needles"
    (never for crisis phrases: "if i wanted to kill myself" is still a crisis)."""
    if w.crisis:
        return None
    hypo = w.cue("hypothetical_before", w.back8 + w.gap)
    if hypo is None:
        return None
    return w.reason("hypothetical", "hypothetical_before", f"hypothetical: {w.f.text(hypo)!r}")


def risk_question(w: Window) -> Optional[Reason]:
    """A question about a risk rather than a report: "is infection common?", "can it cause
    seizures?". Kept when the clause also reports ("is it normal that my throat feels tight")."""
    f, c = w.f, w.c
    rule = "risk_question_before"
    risk = w.cue(rule, w.back8 + w.gap)
    if risk is None:
        rule = "risk_question_after"
        risk = w.cue(rule, w.fwd5)
    starts = w.clause_back[-1] if w.clause_back else c.start
    # a question opening alone ("what's the point of living like this") never drops a crisis
    # phrase; an explicit risk cue ("is suicide a side effect?") does
    question = f.lower[starts] in f.words.question_starters and not w.crisis
    if risk is None and not question:
        return None
    reports = any(f.first_person_report[i] for i in w.clause)
    normalcy = w.cue("normalcy_question", w.clause) is not None
    if w.crisis:
        reports = reports or any(f.lower[i] in f.words.self_in_crisis_question for i in w.clause)
    if reports or (normalcy and risk is None):
        return None
    if risk is not None:
        return w.reason("risk question", rule, f"question about a risk: {f.text(risk)!r}")
    return w.reason("risk question", "question_starters", f"question about a risk: {f.lower[starts] + ' ...?'!r}")


def someone_else(w: Window) -> Optional[Reason]:
    """About people in general, or about someone else and not happening now (for collapse and
    seizure a family member's report counts as now unless hearsay or told with a laugh)."""
    f, c = w.f, w.c
    who, rule = _who(w)
    if who == "generic" and w.crisis and any(f.lower[i] in f.words.self_in_crisis_clause for i in w.clause):
        who = "self"  # "everyone would be better off dead without me"
    if who == "generic":
        return w.reason("someone else", rule, "about people in general")
    if who != "other":
        return None
    now = (
        w.present_cue is not None
        or any(f.present[i] for i in set(w.back8) | set(w.fwd_clause) | w.own | set(w.gap))
        or w.cue("procedure_words", w.clause) is not None
    )
    if not now and w.rule.others_now:
        # "my dad keeled over in the waiting room": a family member reporting a collapse
        # or a seizure is reporting it now, unless it is hearsay ("my neighbor said she
        # passed out during her injection"), or told with a laugh ("... lol"); an urge to harm
        # someone told at second hand is still a risk now ("mi mamá dice que le vienen ganas de
        # ahogarlo", round AF)
        hearsay = not w.crisis and w.cue("reported_speech", range(0, c.start)) is not None
        now = not hearsay and w.cue("figurative_laughter", range(f.n)) is None
    # "my friend got a collapsed lung from acupuncture, can that happen w these shots?"
    later_rule = "risk_question_after"
    later = w.cue(later_rule, range(c.end, f.n))
    if later is None and w.present_cue is None:
        later_rule = "other_person_risk_question"
        later = w.cue(later_rule, range(c.end, f.n))
    if w.set_in_the_past:
        return None  # the past stage has set it aside already
    # a relative's goodbyes, or a faint that is over, followed by "is that normal?" are the family
    # asking about a warning sign, not about a side effect
    if later is not None and not ((w.crisis or w.rule.episode_over) and w.rule.others_now and now):
        return w.reason("someone else", later_rule, f"about someone else, asking about a risk: {f.text(later)!r}")
    if not now:
        return w.reason("someone else", rule, "about someone else, not happening now")
    return None


def _who(w: Window) -> Tuple[str, str]:
    """'self', 'other' (a particular person) or 'generic' (people in general), with the list
    that said so."""
    f, c = w.f, w.c
    if any(f.lower[i] in f.words.reflexive_other for i in w.own):
        return "other", "reflexive_other"
    if any(f.lower[i] in f.words.self_in_trigger for i in w.own):
        return "self", "self_in_trigger"  # "everyone would be better off without me"
    marks: dict = {}
    for name, label in (
        ("other_person_specific", "other"),
        ("other_person_generic", "generic"),
        ("self_reference", "self"),
    ):
        for s, e in f.cues.get(name, ()):
            for i in range(s, e):
                # "my husband": the person is the husband, not "my"
                if label == "self" and i in marks:
                    continue
                marks[i] = (label, name)
    for i in range(c.start - 1, -1, -1):
        if i in marks:
            label, name = marks[i]
            if label == "self" and f.lower[i] == "my" and marks.get(i + 1, ("",))[0] in {"other", "generic"}:
                return marks[i + 1]
            if label == "self" and f.lower[i] == "me":
                # "my friend told me she can't breathe": "me" is an object; keep looking
                continue
            if label == "self" and f.lower[i] == "mine" and i > 0 and f.lower[i - 1] == "of":
                # "a friend of mine got ...": the person is the friend; keep looking
                continue
            return label, name
    # "my throat": a possessive inside the trigger
    for i in sorted(w.own):
        if i in marks:
            return marks[i]
    return "self", "self_reference"


def _figurative_reach(w: Window) -> Set[int]:
    near = set(scan_back(w.f, w.c.start, FIGURATIVE_WINDOW, stop_at_restart=False))
    return near | set(scan_forward(w.f, w.c.end, FIGURATIVE_WINDOW))


def figure_of_speech(w: Window) -> Optional[Reason]:
    """An idiom: "this pain is killing me", "gave me a heart attack" (never for the explicit
    crisis phrases)."""
    if w.explicit:
        return None
    idiom = overlapping_or_in(w.f, "figurative_idioms", w.c, _figurative_reach(w))
    if idiom is None:
        return None
    return w.reason("figure of speech", "figurative_idioms", f"figure of speech: {w.f.text(idiom)!r}")


def own_harmless_reading(w: Window) -> Optional[Reason]:
    """A harmless sense of the phrase itself, from its category's benign readings: "cut myself
    shaving", "hope i don't wake up sore" (applies to crisis phrases too)."""
    f, c = w.f, w.c
    if not c.benign_groups:
        return None
    reach: Dict[int, Set[int]] = {}
    for k in c.benign_groups:
        within = w.rule.benign_readings[k].within or FIGURATIVE_WINDOW
        if within not in reach:
            reach[within] = _sentence_reach(w, within)
        benign = overlapping_or_in(f, benign_key(c.category, k), c, reach[within], plain=True)
        if benign is not None:
            return w.reason(
                "harmless reading", f"{c.category} benign_readings[{k}]", f"harmless reading: {f.text(benign)!r}"
            )
    return None


def _sentence_reach(w: Window, within: int) -> Set[int]:
    """Where a benign reading's cue may sit: past a comma or a "because" ("my daughter had a fit
    because she didn't want to come"), but not in another sentence."""
    f, c = w.f, w.c
    plain = _figurative_reach(w)
    plain.update(_sentence_side(f, c.start - 1, -1, within))
    plain.update(_sentence_side(f, c.end, 1, within))
    return plain


def _sentence_side(f: MessageFeatures, i: int, step: int, within: int) -> List[int]:
    """Up to ``within`` positions from ``i`` on, one way (``step`` -1 or 1), without leaving the
    sentence."""
    out: List[int] = []
    while 0 <= i < f.n and len(out) < within and not f.hard[i]:
        out.append(i)
        i += step
    return out


def joking(w: Window) -> Optional[Reason]:
    """Laughter right next to the phrase: "i can't breathe lol" (never for a crisis phrase)."""
    f, c = w.f, w.c
    if w.crisis or w.explicit:
        return None
    close = set(range(max(0, c.start - LAUGHTER_WINDOW), c.start))
    close |= set(range(c.end, min(f.n, c.end + LAUGHTER_WINDOW + 1)))
    laugh = w.cue("figurative_laughter", close)
    if laugh is None:
        return None
    return w.reason("joking", "figurative_laughter", f"joking: {f.text(laugh)!r}")


Stage = Callable[[Window], Optional[Reason]]

# Each group is one ConText judgement. The three readings of a phrase as not literal are one
# judgement: a figure of speech, or else one of the phrase's own harmless readings, or else a
# joke; only the first that applies is given.
STAGES: Tuple[Tuple[Stage, ...], ...] = (
    (negated, answered_no_on_a_form),
    (resolved,),
    (in_the_past,),
    (hypothetical,),
    (risk_question,),
    (someone_else,),
    (figure_of_speech, own_harmless_reading, joking),
)


def judge(c: Candidate, f: MessageFeatures, rule: CategoryRule) -> List[Reason]:
    """Every reason to set the trigger aside (none: it stands)."""
    w = Window(c, f, rule)
    reasons: List[Reason] = []
    for group in STAGES:
        for stage in group:
            reason = stage(w)
            if reason is not None:
                reasons.append(reason)
                break
    return reasons
