"""What patients type is made plain before anything reads it (clinic.text.normalise)."""

import pytest

from clinic.text.normalise import normalise


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("What If Trigger Point Injections Don\u2019t Work?", "What If Trigger Point Injections Don't Work?"),
        ("\u201cshots\u201d in my \u2018neck\u2019", "\"shots\" in my 'neck'"),
        ("WHAT IS A TRIGGER POINT INJECTION???", "what is a trigger point injection?"),
        ("\uff37\uff28\uff21\uff34 is a trigger point", "WHAT is a trigger point"),
        ("does it hurt?!?!", "does it hurt?"),
        ("  how   long\tdoes it last \n\n ok  ", "how long does it last\nok"),
        ("sore\u2014really sore", "sore - really sore"),
        ("wait.......", "wait..."),
        ("zero\u200bwidth", "zerowidth"),
        ("", ""),
    ],
)
def test_typed_text_is_made_plain(typed, plain):
    assert normalise(typed) == plain


def test_mixed_case_is_kept_for_the_lemmatizer():
    assert normalise("My BACK hurts") == "My BACK hurts"


def test_normalising_twice_changes_nothing():
    for text in ["WHAT??? Don\u2019t", "a  b", "\uff21\uff22\uff23\uff24 efgh"]:
        assert normalise(normalise(text)) == normalise(text)
