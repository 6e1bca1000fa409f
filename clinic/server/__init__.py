"""Rasa-server plumbing: the lock store that serialises each conversation's messages (in memory
for one process, on Redis for several replicas or Sanic workers; `lock_store.py`), the store of
idempotency keys that makes a retried POST answer once (`idempotency.py`), the REST channel
that reads those keys (`rest_channel.py`), and the channel that keeps the widget's "Was this
helpful?" answers in the conversation's tracker (`feedback_channel.py`).

Plugged into Rasa through endpoints.yml (`lock_store: type: clinic.server.lock_store...`) and
credentials.yml (`clinic.server.rest_channel.IdempotentRestInput:`,
`clinic.server.feedback_channel.FeedbackInput:`).

May import: rasa, redis, sanic (through rasa) and clinic.settings; never clinic.handoff or the
rest of the clinic's package: this runs inside every Rasa server and must stay small.
"""
