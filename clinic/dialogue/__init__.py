"""What a conversation has been about, and how a short follow-up resolves against it.

Pure Python over the event dicts Rasa keeps for a conversation (what rasa_sdk's ``Tracker.events``
holds, and ``Event.as_dict()`` gives on the Rasa server), so that the context policy
(``clinic.nlu.context_policy``) and the actions read a conversation the same way.

May import: ``clinic.settings``, ``clinic.topics`` and the standard library; never Rasa, rasa_sdk,
``clinic.nlu``, ``clinic.handoff`` or ``clinic.console``.
"""
