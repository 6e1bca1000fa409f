"""The red-flag severities and their order, for every part of the package.

The order decides which reply a patient gets and where a handoff sits in the nurse queue, so it
is written down once, here: the rules, the learned backstop, the safety policy, the handoff record
and the scripts all rank through this module rather than through lists of their own that could
drift apart.

A severity is a ``str`` so that the value Rasa stores in the ``red_flag`` entity ("crisis") and
what a YAML file says compare equal to it; code that hands a severity on to Rasa or to the
handoff database passes ``.value``, a plain string, so nothing downstream sees the enum.
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable, Optional


class Severity(str, Enum):
    """Most severe first; ``rank`` orders them (a higher rank is more severe, 0 is no red flag)."""

    # Thoughts of suicide or self-harm: the crisis line now.
    CRISIS = "crisis"
    # A possible life-threatening problem: the emergency number now.
    EMERGENCY = "emergency"
    # The nurse line today.
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __str__(self) -> str:
        # (an Enum mixed with str prints as "Severity.CRISIS" otherwise)
        return self.value

    @classmethod
    def parse(cls, value: object) -> Optional[Severity]:
        """The severity a value names ("crisis" or Severity.CRISIS), or None for anything else
        ("none", "routine", None)."""
        return _BY_VALUE.get(value) if isinstance(value, str) else None


_RANKS = {severity: len(Severity) - index for index, severity in enumerate(Severity)}
_BY_VALUE = {severity.value: severity for severity in Severity}


def rank_of(value: object) -> int:
    """The rank of a severity given as text or enum; 0 for no red flag or an unknown value."""
    severity = Severity.parse(value)
    return severity.rank if severity else 0


def most_severe(values: Iterable[object]) -> Optional[Severity]:
    """The most severe of the values that name a severity; None when none of them does."""
    found = [s for s in map(Severity.parse, values) if s is not None]
    return max(found, key=_RANKS.__getitem__) if found else None
