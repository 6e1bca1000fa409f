"""Red-flag detection: the rules from the YAML clinicians review, their context handling, the
learned backstop.

May import: ``clinic.settings``, ``clinic.severity``, ``clinic.text``; never ``clinic.nlu``,
``clinic.handoff`` or ``clinic.console``.
"""
