"""``clinic.server.feedback_channel.FeedbackInput``: where the widget's "Was this helpful? Yes / No" goes.

POST /webhooks/feedback/webhook  {"sender": "<the conversation's sender id>",
                                  "answer": "<the answer's text, as the REST channel sent it>",
                                  "helpful": true | false}

The vote is written into the conversation's own record in Rasa's tracker store, as an ``agent``
event (Rasa's event for words from outside the assistant) whose data is
``{"tpi_feedback": {"helpful": ..., "topic": ..., "answer_at": <the answer's timestamp>}}``.
The review collector (clinic/handoff/collector.py) reads it from there with the rest of the
conversation, so the feedback needs no database of its own on this side.

Why not a message through the REST channel (``/feedback{...}``): that would run the NLU and the
policies and become a turn of the conversation; in the middle of the handoff form it would even be
taken as the patient's answer. This endpoint runs neither: no reply is predicted, no slot changes,
nothing is said to the patient. An ``agent`` event changes no tracker state (Rasa applies it as a
no-op), so rules, forms and policies see the conversation exactly as before; it is appended under
the conversation's lock, like Rasa's own "append events" API.

Only a conversation that exists, and an answer the assistant gave in it (an FAQ answer of its
current session), can be rated; each answer once (a second vote for it is ignored). Nothing is
logged but the outcome.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import AgentUttered, BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

FEEDBACK_KEY = "tpi_feedback"
FAQ_RESPONSE_PREFIX = "utter_faq/"
MAX_SENDER = 255
MAX_ANSWER = 5000
# Enough for any real conversation; stops a script from growing one without end.
MAX_VOTES_PER_CONVERSATION = 100


def _votes(tracker) -> list:
    return [
        e for e in tracker.events if isinstance(e, AgentUttered) and isinstance(e.data, dict) and FEEDBACK_KEY in e.data
    ]


def _answer_event(tracker, text: str) -> Optional[BotUttered]:
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered) and event.text == text:
            utter_action = str((event.metadata or {}).get("utter_action") or "")
            if utter_action.startswith(FAQ_RESPONSE_PREFIX):
                return event
    return None


class FeedbackInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "feedback"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        feedback = Blueprint("feedback_webhook", __name__)

        @feedback.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @feedback.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, answer, helpful = body.get("sender"), body.get("answer"), body.get("helpful")
            if not (
                isinstance(sender, str)
                and 0 < len(sender) <= MAX_SENDER
                and isinstance(answer, str)
                and 0 < len(answer) <= MAX_ANSWER
                and isinstance(helpful, bool)
            ):
                return response.json({"error": "send sender, answer and helpful (true or false)"}, status=400)
            agent = request.app.ctx.agent
            if agent is None or agent.tracker_store is None:
                return response.json({"error": "not ready"}, status=503)
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
                answered = _answer_event(tracker, answer) if tracker is not None else None
                if answered is None:
                    logger.info("feedback refused: no such answer in that conversation")
                    return response.json({"error": "no such answer in this conversation"}, status=404)
                votes = _votes(tracker)
                if any(v.data[FEEDBACK_KEY].get("answer_at") == answered.timestamp for v in votes):
                    return response.json({"recorded": False, "reason": "this answer was rated already"})
                if len(votes) >= MAX_VOTES_PER_CONVERSATION:
                    return response.json({"error": "too many votes in this conversation"}, status=429)
                topic = str(answered.metadata.get("utter_action"))[len(FAQ_RESPONSE_PREFIX) :]
                tracker.update(
                    AgentUttered(
                        data={FEEDBACK_KEY: {"helpful": helpful, "topic": topic, "answer_at": answered.timestamp}}
                    )
                )
                await agent.tracker_store.save(tracker)
            logger.info("feedback recorded")
            return response.json({"recorded": True})

        return feedback
