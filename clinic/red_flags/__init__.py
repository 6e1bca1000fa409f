"""Red-flag detection: the rules from the YAML clinicians review, their context handling, the
learned backstop.

- ``rulefile``: reviewed YAML read into typed dataclasses, errors with the file and line.
- ``spec``: the rule classes (categories, combinations, benign readings, context cues and words)
  and the loading of ``clinic/data/red_flags/``.
- ``triggers``: where a message matches a category's phrases, combinations, temperature readings.
- ``scope``: the clause around a trigger, read without a parser.
- ``context``: the ConText stages, one function each, that set a trigger aside with a reason.
- ``detector``: the public detector (most severe survivor, plus the backstop's verdict).
- ``backstop``: the learned classifier behind the rules, with its settings.
- ``bilingual``: the English and Spanish rules read together, the backstops behind them.
- ``meaning``: for Spanish messages, a classifier on multilingual sentence embeddings.
- ``__main__``: ``python -m clinic.red_flags "message"`` explains a verdict.

May import: ``clinic.settings``, ``clinic.severity``, ``clinic.text``; never ``clinic.nlu``,
``clinic.handoff`` or ``clinic.console``.
"""
