"""What patients type, made plain before anything reads it.

Phones insert typographic quotes and apostrophes ("don’t"), some keyboards full-width letters;
patients in pain type in capitals and repeat punctuation ("WHAT IS IT???"). Every reader of a
message (the NLU pipeline through ``clinic.nlu.normaliser.TextNormaliser``, the red-flag scoring
tools, the review queue) goes through :func:`normalise`, so that one spelling of a question is
understood the way every other is.
"""

from __future__ import annotations

import re
import unicodedata

# NFKC leaves typographic quotes and most dashes alone; the tokenizer and the vocabularies expect
# the ASCII forms.
_CHARACTERS = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u201a": "'",  # ‚
        "\u201b": "'",  # ‛
        "\u2032": "'",  # ′
        "`": "'",
        "\u00b4": "'",  # ´
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",  # –
        "\u2014": " - ",  # —
        "\u2212": "-",
        "\u00a0": " ",
        "\u200b": "",  # zero-width space
        "\u200d": "",
        "\ufeff": "",
    }
)
# "???" and "!!!" carry urgency a person reads, but to the featurizers they are rare tokens.
_REPEATED_MARKS = re.compile(r"([?!])[?!]+")
_REPEATED_STOPS = re.compile(r"\.{4,}")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def normalise(text: str) -> str:
    """NFKC, ASCII quotes and dashes, one question or exclamation mark, single spaces, and a
    message typed in capitals in lower case (mixed case is kept: the lemmatizer reads it)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_CHARACTERS)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    text = _REPEATED_MARKS.sub(lambda m: m.group(0)[0], text)
    text = _REPEATED_STOPS.sub("...", text)
    text = _LINES.sub("\n", _SPACES.sub(" ", text)).strip()
    if _shouting(text):
        text = text.lower()
    return text
