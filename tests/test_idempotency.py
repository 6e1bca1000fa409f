"""Idempotency keys: a message resent under the same key is handled once.

The stores (in memory, and on a real redis-server), the replay of a dead request's answer from the
tracker, and the REST channel on a real Rasa server (conftest's `rasa_server`, which uses
endpoints.yml's in-memory lock store and credentials.yml's channel)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
import uuid
from typing import Dict, Iterator, List, Tuple

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from clinic.server.idempotency import InMemoryIdempotencyStore, replies_from_events, valid_key
from clinic.server.lock_store import RedisConversationLockStore
from tests.redis_server import run_redis


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    yield from run_redis()


def _stores(redis_port: int = None):
    if redis_port is None:
        return InMemoryIdempotencyStore(), None
    lock_store = RedisConversationLockStore(
        host="127.0.0.1", port=redis_port, db=0, lease_seconds=1.0, key_prefix=f"i{uuid.uuid4().hex[:8]}"
    )
    return lock_store.idempotency_store(), lock_store


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield InMemoryIdempotencyStore()
        return
    port = request.getfixturevalue("redis_port")
    idempotency, lock_store = _stores(port)
    yield idempotency
    lock_store.close()


def test_keys_are_checked():
    assert valid_key("m-" + uuid.uuid4().hex)
    assert not valid_key("short") and not valid_key("x" * 129) and not valid_key("has space 123")
    assert not valid_key(None) and not valid_key(12345678)


def test_first_claims_then_copies_get_its_replies(store):
    replies = [{"recipient_id": "s", "text": "hello"}]

    async def scenario() -> None:
        first = await store.claim("s", "key-00001", wait_seconds=0)
        assert first.status == "claimed" and first.earlier_attempts == 0
        # A copy arriving meanwhile waits for the first one and gets its replies.
        copy = asyncio.create_task(store.claim("s", "key-00001", wait_seconds=30))
        await asyncio.sleep(0.1)
        assert not copy.done()
        assert store.finish("s", "key-00001", first.token, replies)
        got = await copy
        assert got.status == "done" and got.replies == replies
        later = await store.claim("s", "key-00001", wait_seconds=0)
        assert later.status == "done" and later.replies == replies
        # Keys are per conversation.
        assert (await store.claim("t", "key-00001", wait_seconds=0)).status == "claimed"

    asyncio.run(scenario())


def test_a_failed_request_lets_the_next_copy_take_over(store):
    async def scenario() -> None:
        first = await store.claim("s", "key-00002", wait_seconds=0)
        assert (await store.claim("s", "key-00002", wait_seconds=0)).status == "wait"
        store.abandon("s", "key-00002", first.token)
        second = await store.claim("s", "key-00002", wait_seconds=0)
        assert second.status == "claimed" and second.earlier_attempts == 1
        assert not store.finish("s", "key-00002", first.token, [])  # the first one's claim is gone
        assert store.finish("s", "key-00002", second.token, [])

    asyncio.run(scenario())


def test_redis_claims_are_renewed_while_held_and_lapse_when_not(redis_port):
    idempotency, lock_store = _stores(redis_port)

    async def scenario() -> None:
        held = await idempotency.claim("s", "key-00003", wait_seconds=0)
        await asyncio.sleep(2.5)  # over two leases of 1 s: the heartbeat renews it
        assert (await idempotency.claim("s", "key-00003", wait_seconds=0)).status == "wait"
        # A replica that dies stops renewing: here, its heartbeat stops.
        lock_store.heartbeat.stop()
        lock_store.heartbeat.ensure_running = lambda: None
        taken = await idempotency.claim("s", "key-00003", wait_seconds=10)
        assert taken.status == "claimed" and taken.earlier_attempts == 1
        assert not idempotency.finish("s", "key-00003", held.token, [])

    try:
        asyncio.run(scenario())
    finally:
        lock_store.close()


def test_replies_are_rebuilt_from_the_tracker():
    events = [
        UserUttered("first", metadata={"idempotency_key": "key-aaaaa"}),
        BotUttered("one", data={"buttons": [{"title": "Yes", "payload": "/affirm"}]}),
        BotUttered("two"),
        ActionExecuted("action_listen"),
        UserUttered("second", metadata={"idempotency_key": "key-bbbbb"}),
        BotUttered("three"),
    ]
    assert replies_from_events(events, "s", "key-aaaaa") == [
        {"recipient_id": "s", "text": "one", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"recipient_id": "s", "text": "two"},
    ]
    assert replies_from_events(events, "s", "key-bbbbb") == [{"recipient_id": "s", "text": "three"}]
    assert replies_from_events(events, "s", "key-ccccc") is None


# ------------------------------------------------------------------------- a real Rasa server
def _post(url: str, body: dict, headers: Dict[str, str] = None) -> Tuple[int, list, Dict[str, str]]:
    request = urllib.request.Request(
        url + "/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read() or b"null"), dict(failure.headers)


def _events(url: str, sender: str) -> List[dict]:
    with urllib.request.urlopen(f"{url}/conversations/{sender}/tracker", timeout=60) as response:
        return json.loads(response.read())["events"]


def _at_once(calls) -> list:
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait(timeout=30)
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def test_a_duplicated_key_is_handled_once_by_rasa(rasa_server):
    sender = f"test-idem-{uuid.uuid4().hex[:10]}"
    key = "m-" + uuid.uuid4().hex
    body = {"sender": sender, "message": "how long does the soreness last", "metadata": {"idempotency_key": key}}
    first, second = _at_once([lambda: _post(rasa_server, body), lambda: _post(rasa_server, body)])
    third = _post(rasa_server, body)
    by_header = _post(rasa_server, {"sender": sender, "message": body["message"]}, {"Idempotency-Key": key})
    assert first[0] == second[0] == third[0] == by_header[0] == 200
    assert first[1] and first[1] == second[1] == third[1] == by_header[1]
    assert sorted([first[2].get("Idempotent-Replayed"), second[2].get("Idempotent-Replayed")], key=str) == [
        None,
        "true",
    ]
    users = [e for e in _events(rasa_server, sender) if e["event"] == "user"]
    assert [e["text"] for e in users] == [body["message"]]
    assert users[0]["metadata"]["idempotency_key"] == key


def test_simultaneous_messages_of_one_conversation_are_all_kept_in_order(rasa_server):
    """Three messages of one conversation at once (no keys): each stored once, each followed by
    its own replies, each answered with exactly the replies the tracker gives it."""
    sender = f"test-race-{uuid.uuid4().hex[:10]}"
    texts = ["what are trigger point injections", "how long does the soreness last", "is it safe when pregnant"]
    results = _at_once([lambda t=t: _post(rasa_server, {"sender": sender, "message": t}) for t in texts])
    assert [status for status, _, _ in results] == [200, 200, 200]
    events = _events(rasa_server, sender)
    turns: List[Tuple[str, List[str]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text"))
    stored = turns
    assert sorted(text for text, _ in stored) == sorted(texts)
    # Between two user messages the bot went back to listening: handled one after the other.
    kinds = [e["event"] if e["event"] != "action" else e.get("name") for e in events]
    users = [i for i, kind in enumerate(kinds) if kind == "user"]
    for a, b in zip(users, users[1:]):
        assert "action_listen" in kinds[a:b]
    answered = {text: [m.get("text") for m in result[1]] for text, result in zip(texts, results)}
    for text, replies in stored:
        assert answered[text] == replies


def test_bad_requests_are_refused(rasa_server):
    assert _post(rasa_server, {"sender": "x", "message": "hi", "metadata": {"idempotency_key": "bad key"}})[0] == 400
    assert _post(rasa_server, {"sender": 5, "message": "hi"})[0] == 400
