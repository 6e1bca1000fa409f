"""clinic.server.lock_store: a conversation's messages are handled one at a time, in arrival order.

In memory (one process), and on a real Redis (a redis-server started on a loopback port) with
several "replicas": stores with their own connections in threads and in separate processes,
racing on the same conversations. No test depends on how fast the machine is: orders and overlaps
are recorded, and every wait has a generous ceiling."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, Iterator, List

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from clinic.server.lock_store import InMemoryConversationLockStore, RedisConversationLockStore, SeveralWorkersNeedRedis
from tests.conftest import ROOT
from tests.redis_server import run_redis


# ---------------------------------------------------------------------------------- in memory
async def _race(stores, conversations: List[str], per_conversation: int, log: List[tuple]) -> None:
    """per_conversation messages for each conversation, started in order, alternating stores;
    each holds the lock across several awaits and records when it enters and leaves."""
    inside: Dict[str, int] = {}

    async def message(store, conversation: str, number: int) -> None:
        async with store.lock(conversation):
            inside[conversation] = inside.get(conversation, 0) + 1
            log.append(("enter", conversation, number, inside[conversation]))
            for _ in range(3):
                await asyncio.sleep(0)
            inside[conversation] -= 1

    tasks = []
    for number in range(per_conversation):
        for i, conversation in enumerate(conversations):
            tasks.append(asyncio.create_task(message(stores[(number + i) % len(stores)], conversation, number)))
            await asyncio.sleep(0)  # this task takes its ticket now: arrival order is creation order
    await asyncio.gather(*tasks)


def test_in_memory_serialises_each_conversation_in_arrival_order():
    store = InMemoryConversationLockStore()
    log: List[tuple] = []
    asyncio.run(_race([store], ["a", "b", "c"], 6, log))
    assert all(depth == 1 for *_, depth in log), "two messages of one conversation overlapped"
    for conversation in "abc":
        assert [n for _, c, n, _ in log if c == conversation] == list(range(6))
    assert not store.is_someone_waiting("a") and store.get_lock("a") is None


def test_in_memory_conversations_do_not_wait_for_each_other():
    store = InMemoryConversationLockStore()

    async def scenario() -> bool:
        release = asyncio.Event()

        async def hold() -> None:
            async with store.lock("slow"):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        async with store.lock("other"):
            other_went_ahead = not release.is_set()
        release.set()
        await holder
        return other_went_ahead

    assert asyncio.run(scenario())


def test_in_memory_cancelled_waiter_gives_its_turn_back():
    store = InMemoryConversationLockStore()
    order: List[str] = []

    async def scenario() -> None:
        release = asyncio.Event()

        async def hold() -> None:
            async with store.lock("c"):
                order.append("first")
                await release.wait()

        async def wait(name: str) -> None:
            async with store.lock("c"):
                order.append(name)

        first = asyncio.create_task(hold())
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(wait("cancelled"))
        await asyncio.sleep(0)
        third = asyncio.create_task(wait("third"))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        release.set()
        await asyncio.gather(first, third, return_exceptions=True)
        assert cancelled.cancelled()

    asyncio.run(scenario())
    assert order == ["first", "third"]
    assert store.get_lock("c") is None


def _bounded_and_passed_over(holder, waiter) -> None:
    """Waiting is bounded by the waiter's lock lifetime; a holder past its own lifetime (a stuck
    message) no longer blocks the conversation."""

    async def scenario() -> None:
        for holder_lifetime, waiter_lifetime, expect_error in ((30, 0.05, True), (0.2, 30, False)):
            release, entered = asyncio.Event(), asyncio.Event()

            async def hold(
                holder_lifetime: float = holder_lifetime,
                entered: asyncio.Event = entered,
                release: asyncio.Event = release,
            ) -> None:
                async with holder.lock("c", lock_lifetime=holder_lifetime):
                    entered.set()
                    await asyncio.wait_for(release.wait(), 30)

            task = asyncio.create_task(hold())
            await entered.wait()
            if expect_error:
                with pytest.raises(LockError):
                    async with waiter.lock("c", lock_lifetime=waiter_lifetime):
                        pass
            else:
                async with waiter.lock("c", lock_lifetime=waiter_lifetime):
                    assert not release.is_set()
            release.set()
            await task

    asyncio.run(scenario())


def test_in_memory_waiting_is_bounded_and_a_stuck_holder_is_passed_over():
    store = InMemoryConversationLockStore(poll_seconds=0.02)
    _bounded_and_passed_over(store, store)


def test_in_memory_refuses_several_sanic_workers(monkeypatch):
    monkeypatch.setenv("SANIC_WORKERS", "2")
    with pytest.raises(SeveralWorkersNeedRedis):
        InMemoryConversationLockStore()
    with pytest.raises(SeveralWorkersNeedRedis):
        LockStore.create(EndpointConfig(type="clinic.server.lock_store.InMemoryConversationLockStore"))


def test_in_memory_store_is_what_endpoints_yml_configures():
    from rasa.core.utils import AvailableEndpoints

    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert isinstance(LockStore.create(endpoints.lock_store), InMemoryConversationLockStore)


# ---------------------------------------------------------------------------------- Redis
@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    yield from run_redis()


def redis_store(port: int, **options) -> RedisConversationLockStore:
    options.setdefault("poll_seconds", 0.005)
    return RedisConversationLockStore(
        host="127.0.0.1", port=port, db=0, key_prefix=f"t{uuid.uuid4().hex[:8]}", **options
    )


def test_redis_store_from_endpoint_config_allows_several_workers(redis_port, monkeypatch):
    from rasa.core.utils import number_of_sanic_workers

    config = EndpointConfig(
        url="127.0.0.1",
        type="clinic.server.lock_store.RedisConversationLockStore",
        port=str(redis_port),
        db="0",
        key_prefix="tpi",
        lease_seconds="2",
        password="",
    )
    store = LockStore.create(config)
    try:
        assert isinstance(store, RedisConversationLockStore)
        assert store.lease_seconds == 2.0 and store.key_prefix == "tpi:convlock:"
        monkeypatch.setenv("SANIC_WORKERS", "3")
        assert number_of_sanic_workers(config) == 3
    finally:
        store.close()


def test_redis_keeps_rasas_lock_store_interface(redis_port):
    store = redis_store(redis_port)

    async def scenario() -> None:
        async with store.lock("conv-i") as lock:
            assert lock.conversation_id == "conv-i"
            assert store.is_someone_waiting("conv-i")
            ticket = store.issue_ticket("conv-i")
            seen = store.get_lock("conv-i")
            assert [t.number for t in seen.tickets] == [ticket - 1, ticket]
            assert seen.now_serving == ticket - 1 and seen.is_locked(ticket)
            store.cleanup("conv-i", ticket)
        assert not store.is_someone_waiting("conv-i") and store.get_lock("conv-i") is None

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_redis_two_replicas_in_one_loop_serve_in_arrival_order(redis_port):
    stores = [redis_store(redis_port), redis_store(redis_port)]
    stores[1].key_prefix = stores[0].key_prefix  # two replicas of one deployment
    log: List[tuple] = []
    try:
        asyncio.run(_race(stores, ["x", "y"], 8, log))
    finally:
        for store in stores:
            store.close()
    assert all(depth == 1 for *_, depth in log)
    for conversation in "xy":
        assert [n for _, c, n, _ in log if c == conversation] == list(range(8))


def _replica_thread(
    port: int,
    prefix: str,
    conversations: List[str],
    per_conversation: int,
    start: threading.Barrier,
    report: Dict[str, list],
) -> None:
    """One 'replica': its own store and connections, its own event loop, in its own thread. Each
    message does a non-atomic read-modify-write of a counter under the lock: without mutual
    exclusion across replicas, increments get lost."""
    import redis

    store = redis_store(port)
    store.key_prefix = prefix
    red = redis.Redis(host="127.0.0.1", port=port, db=0)
    rng = random.Random(threading.get_ident())

    async def message(conversation: str) -> None:
        async with store.lock(conversation):
            if not red.set(f"{prefix}inside:{conversation}", 1, nx=True):
                report["overlaps"].append(conversation)
            value = int(red.get(f"{prefix}count:{conversation}") or 0)
            await asyncio.sleep(rng.uniform(0, 0.002))
            red.set(f"{prefix}count:{conversation}", value + 1)
            red.delete(f"{prefix}inside:{conversation}")

    async def main() -> None:
        start.wait(timeout=30)
        await asyncio.gather(*(message(c) for _ in range(per_conversation) for c in conversations))

    try:
        asyncio.run(main())
    except Exception as error:  # reported, so the test fails with it
        report["errors"].append(repr(error))
    finally:
        store.close()


def test_redis_replicas_racing_in_threads_lose_no_update(redis_port):
    import redis

    prefix = f"race{uuid.uuid4().hex[:6]}:convlock:"
    conversations = [f"conv-{i}" for i in range(20)]
    report: Dict[str, list] = {"overlaps": [], "errors": []}
    start = threading.Barrier(3)
    threads = [
        threading.Thread(target=_replica_thread, args=(redis_port, prefix, conversations, 5, start, report))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not report["errors"] and not report["overlaps"]
    red = redis.Redis(host="127.0.0.1", port=redis_port, db=0)
    counts = {c: int(red.get(f"{prefix}count:{c}") or 0) for c in conversations}
    assert counts == {c: 15 for c in conversations}
    assert not red.keys(f"{prefix}{{*}}:t"), "tickets left behind"


def test_redis_busy_event_loop_keeps_its_lease(redis_port):
    """A replica whose event loop is blocked for several leases (a long prediction) keeps the lock:
    its heartbeat thread renews the lease."""
    # Renewed every 1/6 s: the lease lapses only if the heartbeat thread gets no turn for 5/6 s.
    holder, waiter = redis_store(redis_port, lease_seconds=1.0), redis_store(redis_port, lease_seconds=1.0)
    waiter.key_prefix = holder.key_prefix
    times: Dict[str, float] = {}
    held = threading.Event()

    async def hold() -> None:
        async with holder.lock("busy"):
            held.set()
            time.sleep(3.0)  # blocks this loop for three leases: only the heartbeat thread runs here
            times["released"] = time.monotonic()

    async def wait() -> None:
        assert held.wait(timeout=30)
        async with waiter.lock("busy"):
            times["acquired"] = time.monotonic()

    threads = [threading.Thread(target=asyncio.run, args=(coroutine(),)) for coroutine in (hold, wait)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        holder.close()
        waiter.close()
    assert times["acquired"] >= times["released"]


def test_redis_waiting_is_bounded_and_a_holder_past_its_lifetime_stops_renewing(redis_port):
    holder, waiter = redis_store(redis_port, lease_seconds=1.0), redis_store(redis_port, lease_seconds=1.0)
    waiter.key_prefix = holder.key_prefix
    try:
        _bounded_and_passed_over(holder, waiter)
    finally:
        holder.close()
        waiter.close()


# ---------------------------------------------------------------------------------- processes
WORKER = """
import asyncio, sys
import redis
from clinic.server.lock_store import RedisConversationLockStore
port, prefix, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
store = RedisConversationLockStore(host="127.0.0.1", port=port, db=0, lease_seconds=float(sys.argv[4]), poll_seconds=0.005)
store.key_prefix = prefix
red = redis.Redis(host="127.0.0.1", port=port, db=0)

async def message(conversation):
    async with store.lock(conversation):
        if not red.set(prefix + "inside:" + conversation, 1, nx=True):
            red.rpush(prefix + "overlaps", conversation)
        value = int(red.get(prefix + "count:" + conversation) or 0)
        await asyncio.sleep(0.001)
        red.set(prefix + "count:" + conversation, value + 1)
        red.delete(prefix + "inside:" + conversation)

async def main():
    if mode == "hold":
        async with store.lock("killed"):
            print("held", flush=True)
            await asyncio.sleep(600)
    else:
        print("ready", flush=True)
        while not red.exists(prefix + "go"):
            await asyncio.sleep(0.01)
        await asyncio.gather(*(message("conv-%d" % i) for _ in range(5) for i in range(10)))
        print("done", flush=True)

asyncio.run(main())
"""


def _worker(port: int, prefix: str, mode: str, lease: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(port), prefix, mode, str(lease)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_redis_worker_processes_racing_lose_no_update(redis_port):
    """Two processes, as two Sanic workers or two replicas are."""
    import redis

    prefix = f"proc{uuid.uuid4().hex[:6]}:convlock:"
    workers = [_worker(redis_port, prefix, "race", 3.0) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        red = redis.Redis(host="127.0.0.1", port=redis_port, db=0)
        red.set(prefix + "go", 1)
        for worker in workers:
            assert worker.wait(timeout=120) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert red.lrange(prefix + "overlaps", 0, -1) == []
    assert [int(red.get(f"{prefix}count:conv-{i}")) for i in range(10)] == [10] * 10


def test_redis_lock_of_a_killed_process_frees_within_its_lease(redis_port):
    lease = 1.0
    prefix = f"kill{uuid.uuid4().hex[:6]}:convlock:"
    victim = _worker(redis_port, prefix, "hold", lease)
    waiter = redis_store(redis_port, lease_seconds=lease)
    waiter.key_prefix = prefix
    try:
        assert victim.stdout.readline().strip() == "held"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed = time.monotonic()
        assert waiter.get_lock("killed").tickets, "the killed process held the lock"

        async def wait() -> float:
            async with waiter.lock("killed"):
                return time.monotonic() - killed

        blocked = asyncio.run(wait())
    finally:
        if victim.poll() is None:
            victim.kill()
        waiter.close()
    assert blocked < lease + 5, blocked
