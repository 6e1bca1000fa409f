"""Input channels of the Rasa server besides Rasa's own REST channel (credentials.yml lists them).

May import: Rasa, ``clinic.settings``; never ``clinic.handoff`` or ``clinic.console`` (the Rasa
server does not load that side).
"""
