"""A bounded load generator for Rasa's REST channel: asyncio + aiohttp, loopback only.

Every client holds its own conversations (its own sender ids, a new one every few messages) and
sends one message at a time, as a patient does, waiting for the reply before the next. Warm-up
messages are sent first and not counted; the measured phase then starts for all clients at once
and stops after a fixed number of messages per client or a time limit, whichever comes first.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlparse

import aiohttp
import yaml

HELDOUT_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout_topics.yml"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def heldout_messages(path: Path = HELDOUT_FILE) -> List[str]:
    return [example["text"] for example in yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]]


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        raise ValueError(f"load is only ever sent to this machine's loopback, not to {host!r}")


def percentile(values: List[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class LoadResult:
    clients: int
    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    empty_replies: int = 0
    wall_s: float = 0.0

    def figures(self) -> Dict[str, Any]:
        done = len(self.latencies_ms)
        return {
            "clients": self.clients,
            "messages": done,
            "errors": self.errors,
            "empty_replies": self.empty_replies,
            "wall_s": round(self.wall_s, 2),
            "p50_ms": round(percentile(self.latencies_ms, 0.50), 1),
            "p95_ms": round(percentile(self.latencies_ms, 0.95), 1),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 1) if done else float("nan"),
            "msgs_per_s": round(done / self.wall_s, 2) if self.wall_s else 0.0,
        }


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> Optional[list]:
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        if response.status != 200:
            await response.read()
            return None
        return await response.json()


async def run_load(
    base_url: str,
    clients: int,
    messages_per_client: int,
    warmup_per_client: int = 3,
    turns_per_conversation: int = 4,
    time_limit_s: float = 90.0,
    seed: int = 7,
    tag: str = "bench",
) -> LoadResult:
    check_loopback(base_url)
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    pool = heldout_messages()
    result = LoadResult(clients=clients)
    measuring = asyncio.Event()
    warmed = 0
    all_warm = asyncio.Event()
    deadline = [0.0]

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal warmed
        rng = random.Random(seed * 1000 + index)
        run_id = uuid.uuid4().hex[:8]
        sent = 0

        def sender() -> str:
            return f"{tag}-{run_id}-c{index}-{sent // turns_per_conversation}"

        for _ in range(warmup_per_client):
            try:
                await _send(session, url, sender(), rng.choice(pool))
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            sent += 1
        warmed += 1
        if warmed == clients:
            all_warm.set()
        await measuring.wait()
        for _ in range(messages_per_client):
            if time.monotonic() > deadline[0]:
                break
            started = time.perf_counter()
            try:
                reply = await _send(session, url, sender(), rng.choice(pool))
            except (aiohttp.ClientError, asyncio.TimeoutError):
                reply = None
            elapsed = (time.perf_counter() - started) * 1000
            sent += 1
            if reply is None:
                result.errors += 1
                continue
            if not reply:
                result.empty_replies += 1
            result.latencies_ms.append(elapsed)

    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = [asyncio.create_task(client(i, session)) for i in range(clients)]
        await asyncio.wait_for(all_warm.wait(), timeout=time_limit_s + 120)
        started = time.monotonic()
        deadline[0] = started + time_limit_s
        measuring.set()
        await asyncio.gather(*tasks)
        result.wall_s = time.monotonic() - started
    return result


def measure(base_url: str, clients: int, messages_per_client: int, **kwargs: Any) -> Dict[str, Any]:
    return asyncio.run(run_load(base_url, clients, messages_per_client, **kwargs)).figures()
