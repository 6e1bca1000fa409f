"""Idempotency keys: a message sent again under the same key is handled once.

The widget gives every message a random key and sends the same key with every retry of that
message (after a network error, a 502/503, or the patient's "Try again"); a proxy that resends a
POST resends the key with it. The REST channel (`rest_channel.py`) asks this store before handling
a message:

- the first request with a key *claims* it and handles the message; it then stores the replies
  under the key for `ttl_seconds` (10 minutes by default);
- a copy arriving while the first is still being handled waits for it, and a copy arriving later
  is answered with the stored replies: the message is not handled, nor stored, twice;
- a claim is a lease, renewed while its request runs (by the lock store's heartbeat thread on
  Redis). If the replica handling it dies, the claim lapses and the next copy takes over. The dead
  replica may already have stored the message, so a copy that takes over a lapsed claim first
  looks for the key in the conversation's tracker (the channel keeps it in the user event's
  metadata) and answers from there.

Kept in memory for one process (`InMemoryIdempotencyStore`) or in Redis for several
(`RedisIdempotencyStore`), whichever the lock store is. Replies are kept only in these stores,
never logged.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Text, Tuple

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
DEFAULT_TTL_SECONDS = 600.0


def valid_key(key: Any) -> bool:
    return isinstance(key, str) and bool(KEY_PATTERN.match(key))


@dataclass
class Claim:
    status: str  # "claimed": handle the message; "done": answer with `replies`; "wait": still busy elsewhere
    token: str = ""
    replies: Optional[List[Dict[Text, Any]]] = None
    earlier_attempts: int = 0  # > 0: an earlier request with this key died and may have stored the message


class IdempotencyStore:
    """The protocol both stores follow."""

    async def claim(self, sender: Text, key: Text, wait_seconds: float) -> Claim:
        """Claims `key` for `sender`'s message, or returns the replies of the request that handled
        it; while another request holds the claim, waits up to `wait_seconds` for it."""
        deadline = time.monotonic() + wait_seconds
        delay = 0.02
        while True:
            claim = self._try_claim(sender, key, uuid.uuid4().hex)
            remaining = deadline - time.monotonic()
            if claim.status != "wait" or remaining <= 0:
                return claim
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 1.5, 0.2)

    def _try_claim(self, sender: Text, key: Text, token: Text) -> Claim:
        raise NotImplementedError

    def finish(self, sender: Text, key: Text, token: Text, replies: List[Dict[Text, Any]]) -> bool:
        """Stores the replies of a handled message; False if the claim had lapsed meanwhile."""
        raise NotImplementedError

    def abandon(self, sender: Text, key: Text, token: Text) -> None:
        """The request failed: the next copy may take over at once (after checking the tracker)."""
        raise NotImplementedError


@dataclass
class _Record:
    owner: str
    lease_until: float  # monotonic; inf while its request runs, 0 once abandoned
    expires: float
    done: bool = False
    replies: List[Dict[Text, Any]] = field(default_factory=list)
    attempts: int = 1


class InMemoryIdempotencyStore(IdempotencyStore):
    """One process. A running request's claim does not lapse: if the process dies, so does the
    memory of the key."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, max_keys: int = 50_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_keys = max_keys
        self._records: Dict[Tuple[str, str], _Record] = {}
        self._guard = threading.Lock()
        self._claims_since_purge = 0

    def _purge(self, now: float) -> None:
        self._claims_since_purge = 0
        for k in [k for k, r in self._records.items() if r.expires < now and (r.done or r.lease_until < now)]:
            del self._records[k]
        while len(self._records) > self.max_keys:  # oldest first (dicts keep insertion order)
            del self._records[next(iter(self._records))]

    def _try_claim(self, sender: Text, key: Text, token: Text) -> Claim:
        now = time.monotonic()
        with self._guard:
            self._claims_since_purge += 1
            if self._claims_since_purge >= 1000:
                self._purge(now)
            record = self._records.get((sender, key))
            if record is None or (record.expires < now and record.done):
                self._records[(sender, key)] = _Record(token, float("inf"), now + self.ttl_seconds)
                return Claim("claimed", token)
            if record.done:
                return Claim("done", replies=list(record.replies))
            if record.lease_until >= now:
                return Claim("wait")
            record.owner, record.lease_until, record.attempts = token, float("inf"), record.attempts + 1
            record.expires = now + self.ttl_seconds
            return Claim("claimed", token, earlier_attempts=record.attempts - 1)

    def finish(self, sender: Text, key: Text, token: Text, replies: List[Dict[Text, Any]]) -> bool:
        with self._guard:
            record = self._records.get((sender, key))
            if record is None or record.owner != token:
                return False
            record.done, record.replies = True, list(replies)
            record.expires = time.monotonic() + self.ttl_seconds
            return True

    def abandon(self, sender: Text, key: Text, token: Text) -> None:
        with self._guard:
            record = self._records.get((sender, key))
            if record is not None and record.owner == token and not record.done:
                record.lease_until = 0.0


# KEYS: record. ARGV: token, lease ms, ttl ms. Returns {status, replies json or "", earlier attempts}.
CLAIM_LUA = """
local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'pending', 'owner', ARGV[1], 'lease', now + tonumber(ARGV[2]), 'attempts', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed', '', 0}
end
if state == 'done' then return {'done', redis.call('HGET', KEYS[1], 'replies'), 0} end
if tonumber(redis.call('HGET', KEYS[1], 'lease')) >= now then return {'wait', '', 0} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'lease', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'claimed', '', attempts - 1}
"""

# KEYS: record. ARGV: lease ms, then token, token, ... (one record per call). Returns 1 if renewed.
RENEW_LUA = """
local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HGET', KEYS[1], 'owner') == ARGV[2] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
  redis.call('HSET', KEYS[1], 'lease', now + tonumber(ARGV[1]))
  return 1
end
return 0
"""

# KEYS: record. ARGV: token, replies json, ttl ms.
FINISH_LUA = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'replies', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: record. ARGV: token.
ABANDON_LUA = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
  redis.call('HSET', KEYS[1], 'lease', 0)
end
return 1
"""


class RedisIdempotencyStore(IdempotencyStore):
    """Shared by every replica; claims renewed by the lock store's heartbeat thread."""

    def __init__(
        self,
        red: Any,
        key_prefix: Text,
        lease_seconds: float,
        heartbeat: Any,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_hold_seconds: float = 300.0,
    ) -> None:
        self.red = red
        self.key_prefix = key_prefix + "idem:"
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.ttl_ms = int(ttl_seconds * 1000)
        self.max_hold_seconds = max_hold_seconds
        self.heartbeat = heartbeat
        self._claim = red.register_script(CLAIM_LUA)
        self._renew = red.register_script(RENEW_LUA)
        self._finish = red.register_script(FINISH_LUA)
        self._abandon = red.register_script(ABANDON_LUA)
        # (record key, token) -> monotonic time after which the claim is left to lapse
        self._held: Dict[Tuple[str, str], float] = {}
        self._guard = threading.Lock()
        heartbeat.add(self._renew_held)

    def _key(self, sender: Text, key: Text) -> str:
        return f"{self.key_prefix}{{{sender}}}:{key}"

    def _try_claim(self, sender: Text, key: Text, token: Text) -> Claim:
        record = self._key(sender, key)
        status, replies, earlier = self._claim(keys=[record], args=[token, self.lease_ms, self.ttl_ms])
        status = status.decode() if isinstance(status, bytes) else status
        if status == "claimed":
            with self._guard:
                self._held[(record, token)] = time.monotonic() + self.max_hold_seconds
            self.heartbeat.ensure_running()
            return Claim("claimed", token, earlier_attempts=int(earlier))
        if status == "done":
            return Claim("done", replies=json.loads(replies))
        return Claim("wait")

    def _renew_held(self) -> None:
        now = time.monotonic()
        with self._guard:
            for expired in [h for h, until in self._held.items() if until < now]:
                del self._held[expired]
            held = list(self._held)
        if not held:
            return
        pipe = self.red.pipeline(transaction=False)
        for record, token in held:
            self._renew(keys=[record], args=[self.lease_ms, token], client=pipe)
        pipe.execute()

    def _let_go(self, record: str, token: str) -> None:
        with self._guard:
            self._held.pop((record, token), None)

    def finish(self, sender: Text, key: Text, token: Text, replies: List[Dict[Text, Any]]) -> bool:
        record = self._key(sender, key)
        self._let_go(record, token)
        return bool(self._finish(keys=[record], args=[token, json.dumps(replies), self.ttl_ms]))

    def abandon(self, sender: Text, key: Text, token: Text) -> None:
        record = self._key(sender, key)
        self._let_go(record, token)
        self._abandon(keys=[record], args=[token])


def replies_from_events(events: List[Any], sender: Text, key: Text) -> Optional[List[Dict[Text, Any]]]:
    """The replies given to the message stored under `key` in a tracker's events (Rasa Event
    objects), shaped as the REST channel sends them; None if no stored message has that key."""
    replies: Optional[List[Dict[Text, Any]]] = None
    for event in events:
        name = getattr(event, "type_name", "")
        if name == "user":
            if replies is not None:
                break
            if (getattr(event, "metadata", None) or {}).get("idempotency_key") == key:
                replies = []
        elif name == "bot" and replies is not None:
            reply: Dict[Text, Any] = {"recipient_id": sender}
            if event.text:
                reply["text"] = event.text
            for field_name in ("image", "buttons", "attachment", "custom", "elements", "quick_replies"):
                value = (event.data or {}).get(field_name)
                if value:
                    reply[field_name] = value
            replies.append(reply)
    return replies
