"""Lock stores that really serialise a conversation: its messages are handled one after another,
in the order they arrived, however many replicas or Sanic workers receive them.

Rasa Open Source's `RedisLockStore` keeps each conversation's ticket queue as one JSON value that
every replica reads (GET), changes and writes back (SET). Two replicas issuing a ticket at the same
moment both read the same queue, both take the same ticket number, and both go ahead: their
messages run at the same time and one message's events are lost from the tracker. A replica that
dies holding a ticket blocks the conversation for the ticket's whole lifetime (60 s by default).

Here every step is one atomic Redis operation (a Lua script), and a ticket is a lease:

- `<prefix>:convlock:{<conversation>}:n` is a counter: INCR hands out ticket numbers in the order
  Redis sees the requests, never the same one twice;
- `<prefix>:convlock:{<conversation>}:t` is a hash of the conversation's live tickets, number ->
  lease end (ms, Redis's clock). The lowest live number holds the lock; the others wait their turn.
- Each process renews its tickets' leases (`lease_seconds`, 2 s by default) every sixth of a lease
  from a thread of its own, so a live replica whose event loop is busy predicting keeps its turn,
  and a ticket whose process died lapses within one lease: the next waiter removes it and goes on.
- A waiter checks its turn every `poll_seconds` (20 ms), and at once when a ticket of the same
  process is given back; waiting, like holding, is bounded by Rasa's lock lifetime
  (TICKET_LOCK_LIFETIME, 60 s by default): a message still waiting then fails with LockError, and
  a holder stops renewing, so a stuck message cannot block its conversation for longer.

`InMemoryConversationLockStore` gives the same order and exclusion inside one process (one Rasa
server on one machine) without polling. Several Sanic workers are several processes, so they need
the Redis store; the in-memory one refuses to start with SANIC_WORKERS > 1.

Both keep Rasa's `LockStore` interface (`lock()`, `issue_ticket()`, `get_lock()`, `cleanup()`,
...), and are configured in endpoints.yml:

    lock_store:
      type: clinic.server.lock_store.RedisConversationLockStore
      url: <redis host>
      port: 6379
      password: <password>
      db: 1
      key_prefix: tpi
      lease_seconds: 2

Only conversation ids and ticket numbers are logged, never what a patient wrote.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Dict, List, Optional, Set, Text, Tuple

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 2.0
DEFAULT_POLL_SECONDS = 0.02
# How long a conversation's ticket counter outlives its last ticket: numbers are never reused
# within it, so a ticket handed back very late can never remove a newer one.
COUNTER_KEEP_MS = 24 * 3600 * 1000


class SeveralWorkersNeedRedis(RasaException):
    """The in-memory lock store cannot order messages across processes."""


def _configured_workers() -> int:
    try:
        return int(os.environ.get("SANIC_WORKERS", "1"))
    except ValueError:
        return 1


class _Wakeups:
    """Wakes this process's waiters for a conversation as soon as one of its tickets is given back
    here (waiters on other processes notice by polling)."""

    def __init__(self) -> None:
        self._futures: Dict[str, Set[asyncio.Future]] = {}

    async def wait(self, conversation_id: Text, timeout: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._futures.setdefault(conversation_id, set()).add(future)
        try:
            await asyncio.wait({future}, timeout=timeout)
        finally:
            waiting = self._futures.get(conversation_id)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._futures[conversation_id]
            if not future.done():
                future.cancel()

    def wake(self, conversation_id: Text) -> None:
        for future in list(self._futures.get(conversation_id, ())):
            if not future.done():
                future.get_loop().call_soon_threadsafe(_set_if_pending, future)


def _set_if_pending(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class ConversationLockStore(LockStore):
    """What both stores share: `lock()` takes a ticket, waits for its turn and always gives the
    ticket back. A subclass says how tickets are kept (`_issue`, `_turn`, `_acquired`, `_release`)."""

    def __init__(
        self, lease_seconds: float = DEFAULT_LEASE_SECONDS, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> None:
        super().__init__()
        if float(lease_seconds) <= 0 or float(poll_seconds) <= 0:
            raise ValueError("lease_seconds and poll_seconds must be positive")
        self.lease_seconds = float(lease_seconds)
        self.poll_seconds = float(poll_seconds)
        self._wakeups = _Wakeups()
        self._idempotency: Any = None

    # ---- what a subclass provides ----
    def _issue(self, conversation_id: Text, lock_lifetime: float) -> int:
        raise NotImplementedError

    def _turn(self, conversation_id: Text, ticket: int) -> Optional[int]:
        """How many live tickets are ahead of `ticket` (0: it holds the lock); None if the ticket
        is no longer in the queue."""
        raise NotImplementedError

    def _acquired(self, conversation_id: Text, ticket: int, lock_lifetime: float) -> None:
        """Called once `ticket` holds the lock."""

    def _release(self, conversation_id: Text, ticket: int) -> None:
        raise NotImplementedError

    def idempotency_store(self) -> Any:
        """The store of idempotency keys that goes with this lock store (same process or Redis)."""
        raise NotImplementedError

    # ---- Rasa's LockStore interface ----
    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._issue(conversation_id, float(lock_lifetime))
        except LockError:
            raise
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{type(error).__name__}: {error}") from error
        logger.debug("Issued ticket %s for conversation '%s'.", ticket, conversation_id)
        return ticket

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation's lock for the body of the `async with`: waits (at most
        `lock_lifetime`) until every ticket issued before this one is done or dead."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds, lock_lifetime)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _acquire_lock(
        self, conversation_id: Text, ticket: int, wait_time_in_seconds: float, lock_lifetime: float = LOCK_LIFETIME
    ) -> TicketLock:
        started = time.monotonic()
        deadline = started + float(lock_lifetime)
        poll = min(self.poll_seconds, wait_time_in_seconds) if wait_time_in_seconds > 0 else self.poll_seconds
        while True:
            try:
                ahead = self._turn(conversation_id, ticket)
            except Exception as error:
                raise LockError(
                    f"Could not acquire lock for conversation_id '{conversation_id}': {type(error).__name__}: {error}"
                ) from error
            if ahead is None:
                raise LockError(f"Ticket {ticket} of conversation_id '{conversation_id}' lapsed while waiting.")
            if ahead == 0:
                self._acquired(conversation_id, ticket, float(lock_lifetime))
                waited = time.monotonic() - started
                if waited > 0.001:
                    logger.debug(
                        "Acquired lock for conversation '%s' (ticket %s) after %.3f s.", conversation_id, ticket, waited
                    )
                return TicketLock(conversation_id, deque([Ticket(ticket, time.time() + float(lock_lifetime))]))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockError(
                    f"Could not acquire lock for conversation_id '{conversation_id}' "
                    f"within {lock_lifetime} s ({ahead} message(s) ahead)."
                )
            await self._wakeups.wait(conversation_id, min(poll, remaining))

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._release(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Gives the ticket back (whether it held the lock or was still waiting) and wakes this
        process's next waiter. Never raises: a ticket that cannot be given back lapses by itself."""
        try:
            self.finish_serving(conversation_id, ticket_number)
        except Exception as error:
            logger.warning(
                "Could not give back ticket %s of conversation '%s' (%s); it lapses with its lease.",
                ticket_number,
                conversation_id,
                type(error).__name__,
            )
        self._wakeups.wake(conversation_id)

    def close(self) -> None:
        """Stops background work (tests; a server simply exits)."""


# ------------------------------------------------------------------------------------------------
class InMemoryConversationLockStore(ConversationLockStore):
    """One process: a FIFO of tickets per conversation, waiters woken when the one ahead is done.

    A holder that keeps the lock past Rasa's lock lifetime (a stuck message) is passed over, as
    Rasa's own tickets expire, so that it cannot block the conversation for good."""

    def __init__(
        self, endpoint_config: Any = None, lease_seconds: float = DEFAULT_LEASE_SECONDS, poll_seconds: float = 0.5
    ) -> None:
        workers = _configured_workers()
        if workers > 1:
            raise SeveralWorkersNeedRedis(
                f"SANIC_WORKERS={workers}: several Sanic workers are several processes, and an "
                "in-memory lock store cannot order a conversation's messages across them. Use "
                "clinic.server.lock_store.RedisConversationLockStore (see deploy/endpoints.replica.yml)."
            )
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        super().__init__(
            float(kwargs.get("lease_seconds", lease_seconds)), float(kwargs.get("poll_seconds", poll_seconds))
        )
        # Ticket numbers are unique in the process, so a late cleanup never removes a newer ticket.
        self._numbers = itertools.count(1)
        # conversation -> ticket -> monotonic time its hold ends (None while it waits), in order.
        self._queues: Dict[str, "OrderedDict[int, Optional[float]]"] = {}

    def _issue(self, conversation_id: Text, lock_lifetime: float) -> int:
        ticket = next(self._numbers)
        self._queues.setdefault(conversation_id, OrderedDict())[ticket] = None
        return ticket

    def _turn(self, conversation_id: Text, ticket: int) -> Optional[int]:
        queue = self._queues.get(conversation_id)
        if not queue or ticket not in queue:
            return None
        now = time.monotonic()
        for number, hold_ends in list(queue.items()):
            if number == ticket:
                break
            if hold_ends is not None and hold_ends < now:
                logger.warning(
                    "Conversation '%s': ticket %s held the lock past its lifetime; the next message goes ahead.",
                    conversation_id,
                    number,
                )
                del queue[number]
        return list(queue).index(ticket)

    def _acquired(self, conversation_id: Text, ticket: int, lock_lifetime: float) -> None:
        self._queues[conversation_id][ticket] = time.monotonic() + lock_lifetime

    def _release(self, conversation_id: Text, ticket: int) -> None:
        queue = self._queues.get(conversation_id)
        if queue is None:
            return
        queue.pop(ticket, None)
        if not queue:
            del self._queues[conversation_id]

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        queue = self._queues.get(conversation_id)
        if not queue:
            return None
        now, wall = time.monotonic(), time.time()
        tickets = [Ticket(n, wall + (ends - now if ends is not None else LOCK_LIFETIME)) for n, ends in queue.items()]
        return TicketLock(conversation_id, deque(tickets))

    def save_lock(self, lock: TicketLock) -> None:
        queue = self._queues.setdefault(lock.conversation_id, OrderedDict())
        for ticket in sorted(lock.tickets, key=lambda t: t.number):
            queue.setdefault(ticket.number, None)

    def delete_lock(self, conversation_id: Text) -> None:
        deleted = self._queues.pop(conversation_id, None)
        self._log_deletion(conversation_id, deleted is not None)

    def update_lock(self, conversation_id: Text) -> None:
        queue = self._queues.get(conversation_id)
        if queue:
            first = next(iter(queue))
            until = queue[first]
            if until is not None and until < time.monotonic():
                del queue[first]

    def is_someone_waiting(self, conversation_id: Text) -> bool:
        return bool(self._queues.get(conversation_id))

    def idempotency_store(self) -> Any:
        if self._idempotency is None:
            from clinic.server.idempotency import InMemoryIdempotencyStore

            self._idempotency = InMemoryIdempotencyStore()
        return self._idempotency


# ------------------------------------------------------------------------------------------------
def _now_ms_lua() -> str:
    return "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"


# KEYS: counter, tickets. ARGV: lease ms, keep ms. Returns the new ticket's number.
ISSUE_LUA = (
    _now_ms_lua()
    + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ticket, now + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ticket
"""
)

# KEYS: tickets. ARGV: ticket, lease ms, keep ms. Removes lapsed tickets of others, renews this
# one. Returns {-1, 0} if this ticket is gone, else {number of live tickets ahead, 0}.
TURN_LUA = (
    _now_ms_lua()
    + """
local fields = redis.call('HGETALL', KEYS[1])
local mine = tonumber(ARGV[1])
local present = false
local ahead = 0
for i = 1, #fields, 2 do
  local number = tonumber(fields[i])
  if number == mine then
    present = true
  elseif tonumber(fields[i + 1]) < now then
    redis.call('HDEL', KEYS[1], fields[i])
  elseif number < mine then
    ahead = ahead + 1
  end
end
if not present then return {-1, 0} end
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ahead, 0}
"""
)

# KEYS: tickets. ARGV: lease ms, keep ms, ticket... Renews the tickets still there (a lapsed one
# nobody has removed yet may be renewed: nobody went ahead of it). Returns the ones gone.
RENEW_LUA = (
    _now_ms_lua()
    + """
local gone = {}
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i], now + tonumber(ARGV[1]))
  else
    table.insert(gone, ARGV[i])
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return gone
"""
)

# KEYS: tickets. ARGV: ticket. (An empty hash disappears by itself.)
RELEASE_LUA = """
return redis.call('HDEL', KEYS[1], ARGV[1])
"""

# KEYS: tickets. Removes lapsed tickets; returns how many live ones remain.
REAP_LUA = (
    _now_ms_lua()
    + """
local fields = redis.call('HGETALL', KEYS[1])
local live = 0
for i = 1, #fields, 2 do
  if tonumber(fields[i + 1]) < now then redis.call('HDEL', KEYS[1], fields[i]) else live = live + 1 end
end
return live
"""
)


class Heartbeat:
    """Calls the registered renewals every `interval` seconds from a daemon thread: a replica's
    leases stay alive while its event loop is busy, and stop the moment its process dies. Started
    on first use in each process (Sanic workers are forked after the store may have been made)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._renewals: List[Callable[[], None]] = []
        self._thread: Optional[threading.Thread] = None
        self._pid = 0
        self._stop = threading.Event()
        self._guard = threading.Lock()

    def add(self, renewal: Callable[[], None]) -> None:
        with self._guard:
            self._renewals.append(renewal)

    def ensure_running(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._guard:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="clinic-lock-heartbeat", daemon=True
            )
            self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        for renewal in list(self._renewals):
            try:
                renewal()
            except Exception as error:  # Redis away for a moment: the next beat tries again
                logger.warning("Lease renewal failed (%s); retrying in %.1f s.", type(error).__name__, self.interval)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


class RedisConversationLockStore(ConversationLockStore):
    """Replicas and Sanic workers sharing one Redis: atomic tickets, leases renewed by a thread."""

    def __init__(
        self,
        endpoint_config: Any = None,
        host: Text = "localhost",
        port: int = 6379,
        db: int = 1,
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        use_ssl: bool = False,
        key_prefix: Optional[Text] = None,
        socket_timeout: float = 5.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        redis_client: Any = None,
    ) -> None:
        import redis

        options: Dict[str, Any] = dict(
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            use_ssl=use_ssl,
            key_prefix=key_prefix,
            socket_timeout=socket_timeout,
            lease_seconds=lease_seconds,
            poll_seconds=poll_seconds,
        )
        if endpoint_config is not None:
            if getattr(endpoint_config, "url", None):
                options["host"] = endpoint_config.url
            for name, value in (getattr(endpoint_config, "kwargs", None) or {}).items():
                if name in options and value not in (None, ""):
                    options[name] = value
        super().__init__(float(options["lease_seconds"]), float(options["poll_seconds"]))
        prefix = str(options["key_prefix"] or "")
        if prefix and not prefix.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"key_prefix must be letters, digits, '-' or '_': {prefix!r}")
        self.key_prefix = (prefix + ":" if prefix else "") + "convlock:"
        self.red = redis_client or redis.Redis(
            host=str(options["host"]),
            port=int(options["port"]),
            db=int(options["db"]),
            username=options["username"] or None,
            password=options["password"] or None,
            ssl=_as_bool(options["use_ssl"]),
            socket_timeout=float(options["socket_timeout"]),
            socket_connect_timeout=float(options["socket_timeout"]),
            health_check_interval=30,
        )
        self._issue_script = self.red.register_script(ISSUE_LUA)
        self._turn_script = self.red.register_script(TURN_LUA)
        self._renew_script = self.red.register_script(RENEW_LUA)
        self._release_script = self.red.register_script(RELEASE_LUA)
        self._reap_script = self.red.register_script(REAP_LUA)
        self.lease_ms = max(1, int(self.lease_seconds * 1000))
        # (conversation, ticket) -> monotonic time after which its lease is no longer renewed.
        self._live: Dict[Tuple[str, int], float] = {}
        self._live_guard = threading.Lock()
        self.heartbeat = Heartbeat(self.lease_seconds / 6)
        self.heartbeat.add(self._renew_live)

    # keys: the conversation id in braces keeps both of its keys in one Redis Cluster slot
    def _counter_key(self, conversation_id: Text) -> str:
        return f"{self.key_prefix}{{{conversation_id}}}:n"

    def _tickets_key(self, conversation_id: Text) -> str:
        return f"{self.key_prefix}{{{conversation_id}}}:t"

    def _issue(self, conversation_id: Text, lock_lifetime: float) -> int:
        ticket = int(
            self._issue_script(
                keys=[self._counter_key(conversation_id), self._tickets_key(conversation_id)],
                args=[self.lease_ms, COUNTER_KEEP_MS],
            )
        )
        with self._live_guard:
            self._live[(conversation_id, ticket)] = time.monotonic() + lock_lifetime
        self.heartbeat.ensure_running()
        return ticket

    def _turn(self, conversation_id: Text, ticket: int) -> Optional[int]:
        ahead, _ = self._turn_script(
            keys=[self._tickets_key(conversation_id)], args=[ticket, self.lease_ms, COUNTER_KEEP_MS]
        )
        return None if int(ahead) < 0 else int(ahead)

    def _acquired(self, conversation_id: Text, ticket: int, lock_lifetime: float) -> None:
        with self._live_guard:
            self._live[(conversation_id, ticket)] = time.monotonic() + lock_lifetime

    def _release(self, conversation_id: Text, ticket: int) -> None:
        with self._live_guard:
            self._live.pop((conversation_id, ticket), None)
        self._release_script(keys=[self._tickets_key(conversation_id)], args=[ticket])

    def _renew_live(self) -> None:
        now = time.monotonic()
        by_conversation: Dict[str, List[int]] = {}
        with self._live_guard:
            for (conversation_id, ticket), until in list(self._live.items()):
                if until < now:
                    del self._live[(conversation_id, ticket)]
                    logger.warning(
                        "Conversation '%s': ticket %s passed the lock lifetime; its lease is no longer renewed.",
                        conversation_id,
                        ticket,
                    )
                else:
                    by_conversation.setdefault(conversation_id, []).append(ticket)
        if not by_conversation:
            return
        pipe = self.red.pipeline(transaction=False)
        for conversation_id, tickets in by_conversation.items():
            self._renew_script(
                keys=[self._tickets_key(conversation_id)], args=[self.lease_ms, COUNTER_KEEP_MS, *tickets], client=pipe
            )
        for conversation_id, gone in zip(by_conversation, pipe.execute()):
            for ticket in gone or []:
                logger.error(
                    "Conversation '%s': the lease of ticket %s lapsed before it was renewed "
                    "(process stalled for over %.1f s?).",
                    conversation_id,
                    int(ticket),
                    self.lease_seconds,
                )
                with self._live_guard:
                    self._live.pop((conversation_id, int(ticket)), None)

    # ---- the rest of Rasa's LockStore interface, on the same keys ----
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        fields = self.red.hgetall(self._tickets_key(conversation_id))
        if not fields:
            return None
        tickets = sorted((Ticket(int(n), int(ends) / 1000.0) for n, ends in fields.items()), key=lambda t: t.number)
        return TicketLock(conversation_id, deque(tickets))

    def save_lock(self, lock: TicketLock) -> None:
        if lock.tickets:
            key = self._tickets_key(lock.conversation_id)
            self.red.hset(key, mapping={t.number: int(t.expires * 1000) for t in lock.tickets})
            self.red.pexpire(key, COUNTER_KEEP_MS)

    def delete_lock(self, conversation_id: Text) -> None:
        deleted = self.red.delete(self._tickets_key(conversation_id))
        self._log_deletion(conversation_id, bool(deleted))

    def update_lock(self, conversation_id: Text) -> None:
        self._reap_script(keys=[self._tickets_key(conversation_id)])

    def is_someone_waiting(self, conversation_id: Text) -> bool:
        return int(self._reap_script(keys=[self._tickets_key(conversation_id)])) > 0

    def idempotency_store(self) -> Any:
        if self._idempotency is None:
            from clinic.server.idempotency import RedisIdempotencyStore

            self._idempotency = RedisIdempotencyStore(
                self.red, self.key_prefix[: -len("convlock:")], self.lease_seconds, self.heartbeat
            )
        return self._idempotency

    def close(self) -> None:
        self.heartbeat.stop()
