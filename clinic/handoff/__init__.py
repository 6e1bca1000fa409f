"""The nurse-line side: the handoff database, handoff records built from a conversation, patient
input checks, the callback window, the webhook notifier and retention.

May import: ``clinic.settings``, ``clinic.topics``, ``clinic.severity``, ``clinic.responses``, and
``clinic.dialogue`` (plain Python, read alike by the context policy), ``clinic.text`` (the sentence
encoder, for grouping the review queue); never ``clinic.nlu`` or
``clinic.red_flags`` (the Rasa server does not load this side).
"""
