"""Rasa's REST channel with idempotency keys: `POST /webhooks/rest/webhook` as before, and a message
sent again under the same key is answered once (idempotency.py says how).

    {"sender": "...", "message": "...", "metadata": {"idempotency_key": "<8-128 of A-Z a-z 0-9 _ . : ->"}}

or the key in an `Idempotency-Key` header. A request without a key is handled as Rasa's REST
channel does. A replayed answer carries the header `Idempotent-Replayed: true`.

Unlike Rasa's channel, a message that could not be handled gets an HTTP error, never an empty 200:
503 (with Retry-After) when the conversation's lock could not be had or a copy of the message is
still being handled elsewhere, 500 for anything else; the widget sends it again under the same key.
Logs name the conversation and the error's type, never the patient's text.

Registered in credentials.yml as `clinic.server.rest_channel.IdempotentRestInput:`; its name is
still `rest`, so the URL and the events' input channel stay the same.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.lock_store import LOCK_LIFETIME, LockError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic.server.idempotency import IdempotencyStore, InMemoryIdempotencyStore, replies_from_events, valid_key

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
METADATA_FIELD = "idempotency_key"

_fallback_store: Optional[InMemoryIdempotencyStore] = None


class MessageFailed(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def idempotency_store_for(app: Any) -> IdempotencyStore:
    """The lock store's own (Redis or this process); a process-local one for Rasa's lock stores."""
    global _fallback_store
    lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
    provider = getattr(lock_store, "idempotency_store", None)
    if provider is not None:
        return provider()
    if _fallback_store is None:
        logger.warning(
            "The lock store (%s) keeps no idempotency keys: they are kept in this process "
            "only. Use clinic.server.lock_store's stores (endpoints.yml).",
            type(lock_store).__name__,
        )
        _fallback_store = InMemoryIdempotencyStore()
    return _fallback_store


def error(status: int, reason: str) -> HTTPResponse:
    headers = {"Retry-After": "1"} if status == 503 else None
    return response.json({"error": reason}, status=status, headers=headers)


class IdempotentRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _handle(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: Optional[Text],
        sender: Text,
        input_channel: Text,
        metadata: Optional[Dict[Text, Any]],
    ) -> List[Dict[Text, Any]]:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=input_channel, metadata=metadata))
        except LockError as failure:
            logger.warning("rest: conversation '%s' busy: %s", sender, failure)
            raise MessageFailed(503, "conversation busy, send again") from failure
        except asyncio.CancelledError:
            logger.error("rest: message of conversation '%s' timed out", sender)
            raise
        except Exception as failure:
            logger.error(
                "rest: message of conversation '%s' failed (%s)",
                sender,
                type(failure).__name__,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            raise MessageFailed(500, "the message could not be handled") from failure
        return collector.messages

    async def _from_tracker(self, app: Any, sender: Text, key: Text) -> Optional[List[Dict[Text, Any]]]:
        tracker = await app.ctx.agent.tracker_store.retrieve(sender)
        return replies_from_events(list(tracker.events), sender, key) if tracker is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            body = request.json
            if not isinstance(body, dict):
                return error(400, "expected a JSON object")
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata")
            if (
                not isinstance(sender, str)
                or not sender
                or not isinstance(text, str)
                or not isinstance(metadata, (dict, type(None)))
            ):
                return error(400, "expected sender and message as strings (and metadata as an object)")
            input_channel = self._extract_input_channel(request)
            key = request.headers.get(HEADER) or (metadata or {}).get(METADATA_FIELD)
            if key is not None and not valid_key(key):
                return error(400, "invalid idempotency key")

            if self._stream(request):  # streaming answers cannot be replayed: Rasa's way, no key
                return response.stream(
                    self.stream_response(on_new_message, text, sender, input_channel, metadata),
                    content_type="text/event-stream",
                )
            if key is None:
                try:
                    return response.json(await self._handle(on_new_message, text, sender, input_channel, metadata))
                except MessageFailed as failure:
                    return error(failure.status, failure.reason)

            metadata = {**(metadata or {}), METADATA_FIELD: key}
            store = idempotency_store_for(request.app)
            claim = await store.claim(sender, key, wait_seconds=LOCK_LIFETIME)
            if claim.status == "done":
                return response.json(claim.replies, headers={"Idempotent-Replayed": "true"})
            if claim.status != "claimed":
                return error(503, "this message is still being handled, send again")
            try:
                replies = None
                if claim.earlier_attempts:
                    # An earlier request with this key died: it may have stored the message.
                    replies = await self._from_tracker(request.app, sender, key)
                    if replies is not None:
                        logger.info(
                            "rest: conversation '%s': a resent message was already stored; answered from the tracker",
                            sender,
                        )
                        store.finish(sender, key, claim.token, replies)
                        return response.json(replies, headers={"Idempotent-Replayed": "true"})
                replies = await self._handle(on_new_message, text, sender, input_channel, metadata)
            except MessageFailed as failure:
                store.abandon(sender, key, claim.token)
                return error(failure.status, failure.reason)
            except BaseException:
                store.abandon(sender, key, claim.token)
                raise
            if not store.finish(sender, key, claim.token, replies):
                logger.warning(
                    "rest: conversation '%s': the claim of an idempotency key lapsed while its message was handled",
                    sender,
                )
            return response.json(replies)

        return webhook

    @staticmethod
    def _stream(request: Request) -> bool:
        value = request.args.get("stream")
        return str(value).lower() in ("true", "1", "yes") if value is not None else False
