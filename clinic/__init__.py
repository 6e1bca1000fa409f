"""The clinic assistant's own Python, grouped by concern.

- ``settings``, ``topics``, ``severity``: shared definitions every part may import.
- ``text/``: patient text handling shared by the NLU and the red-flag rules.
- ``red_flags/``: the red-flag rules (reviewed YAML), their context handling and the learned backstop.
- ``nlu/``: Rasa components (NLU pipeline, policies, the Rasa patch) that run inside the Rasa server.
- ``dialogue/``: what a conversation has been about and how a follow-up resolves against it, read
  the same way by the context policy (Rasa server) and the actions.
- ``handoff/``: the nurse-line side: handoff database, records, notifier, retention.
- ``console/``: the staff web app on the handoff database.
- ``tools/``: evaluation, domain settings and the demo site (developer and operator tools).

The Rasa-server side (``text``, ``red_flags``, ``nlu``) never imports the handoff side
(``handoff``, ``console``), and the other way round; ``dialogue`` imports neither.
"""
