"""Rasa components that run in the Rasa server: the NLU pipeline's own components, the safety and
context policies, and the patch to Rasa's action-server reply check.

May import: Rasa, ``clinic.settings``, ``clinic.topics``, ``clinic.severity``, ``clinic.text``,
``clinic.red_flags``, ``clinic.dialogue``; never ``clinic.handoff`` or ``clinic.console``.
"""
