"""The scale-out test, run by scripts/scale_out.sh once PostgreSQL, Redis and nginx are up.

1. Single-process baseline: one Rasa server and one action server (SQLite, as endpoints.yml has
   it), the burst sent straight to it.
2. Two Rasa replicas (deploy/endpoints.replica.yml: PostgreSQL tracker store, Redis lock store,
   actions through nginx) and two action-server replicas (handoffs in PostgreSQL), behind nginx;
   the same burst through nginx; then every conversation's tracker is read back through the Rasa
   HTTP API and every handoff counted in PostgreSQL.
3. The race test: pairs and triples of messages of one conversation sent at the same moment to
   different replicas (and pairs of one message under one idempotency key, as a retried POST);
   every tracker must hold every message once, each followed by its own replies, the turns one
   after the other (clinic/server/lock_store.py).
4. Faults under load: a second burst, patients pausing between messages as people do; one Rasa
   replica is killed (SIGKILL) part-way while it holds a conversation's lock, and that message is
   sent again to the other replica at once (how long the conversation stays blocked is measured);
   then each action server in turn is killed and started again. Every request must get an answer
   or an honest error, no stored handoff may be lost or doubled, and the trackers must hold every
   answered turn in order, once.

Every request carries an idempotency key, as the widget's do, and a request sent again after an
error carries the same key.

Prints a PASS/FAIL summary and exits non-zero on FAIL. Load goes to loopback only, bounded in
messages and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import procs  # noqa: E402
from bench.load import check_loopback, percentile  # noqa: E402

RASA = str(procs.VENV_BIN / "rasa")
SCALE = Path(os.environ.get("SCALE_DIR", ROOT / "var" / "scale"))
LOGS = SCALE / "logs"
PIDS = SCALE / "pids"
REFERENCE = re.compile(r"\bTPI-[2-9A-HJ-NP-Z]{5}\b")

FIRST_NAMES = ["Avery", "Blair", "Casey", "Dana", "Emery", "Finley", "Harper", "Jordan", "Kendall", "Logan"]
LAST_NAMES = ["Alder", "Birchwood", "Cedarly", "Dunmore"]
REASONS = [
    "questions about soreness after my injection",
    "want to know if the shots can help my neck",
    "need to plan my next injection",
    "my shoulder knot came back",
]


def env(name: str, default: Optional[str] = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"{name} is not set: run scripts/scale_out.sh, not this file")
    return value


def log(text: str) -> None:
    print(f"[scale-out {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ---- conversations ------------------------------------------------------------------------------
def faq_questions() -> List[str]:
    examples = yaml.safe_load((ROOT / "tests" / "data" / "heldout_topics.yml").read_text())["examples"]
    return [e["text"] for e in examples if e["topic"] != "unanswerable"]


def service_trouble_prefix() -> str:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    text = domain["responses"]["utter_service_trouble"][0]["text"]
    return text.split("{")[0].strip()[:60]


@dataclass
class Script:
    sender: str
    turns: List[str]
    handoff: bool


def scripts_for(count: int, tag: str, faq_turns: int, handoff: bool, seed: int) -> List[Script]:
    rng = random.Random(seed)
    questions = faq_questions()
    run = uuid.uuid4().hex[:6]
    result = []
    for i in range(count):
        turns = [rng.choice(questions) for _ in range(faq_turns)]
        if handoff:
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]}"
            turns += [
                "I want to talk to a nurse",
                "yes",
                name,
                f"617-555-01{i % 100:02d}",
                "weekday mornings",
                REASONS[i % len(REASONS)],
                "yes",
            ]
        result.append(Script(sender=f"scale-{tag}-{run}-{i:03d}", turns=turns, handoff=handoff))
    return result


def idempotency_key() -> str:
    return "k-" + uuid.uuid4().hex


@dataclass
class Turn:
    text: str
    attempt: int
    status: str  # "ok", "service_trouble", "empty", "http_502", "conn_error", ...
    latency_ms: float
    reply: str = ""
    key: str = ""


@dataclass
class Conversation:
    script: Script
    turns: List[Turn] = field(default_factory=list)

    @property
    def reference(self) -> Optional[str]:
        for turn in reversed(self.turns):
            match = REFERENCE.search(turn.reply)
            if match:
                return match.group(0)
        return None


class Burst:
    def __init__(
        self,
        base_url: str,
        think_s: Tuple[float, float] = (0.0, 0.0),
        retry_pause_s: float = 1.0,
        request_timeout_s: float = 90.0,
    ):
        check_loopback(base_url)
        self.url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self.think_s = think_s
        self.retry_pause_s = retry_pause_s
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self.trouble = service_trouble_prefix()
        self.done = 0
        self.total = 0
        self.finished = False

    async def _say(self, session: aiohttp.ClientSession, sender: str, text: str, attempt: int, key: str) -> Turn:
        started = time.perf_counter()
        body = {"sender": sender, "message": text, "metadata": {"idempotency_key": key}}
        try:
            async with session.post(self.url, json=body) as response:
                raw = await response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200:
                    return Turn(text, attempt, f"http_{response.status}", elapsed, key=key)
                messages = json.loads(raw)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            return Turn(
                text, attempt, f"conn_error:{type(error).__name__}", (time.perf_counter() - started) * 1000, key=key
            )
        reply = "\n".join(m.get("text") or "" for m in messages)
        status = "empty" if not messages else ("service_trouble" if self.trouble and self.trouble in reply else "ok")
        return Turn(text, attempt, status, elapsed, reply, key)

    async def _converse(self, session: aiohttp.ClientSession, script: Script, rng: random.Random) -> Conversation:
        conversation = Conversation(script)
        for text in script.turns:
            if self.think_s[1] > 0:
                await asyncio.sleep(rng.uniform(*self.think_s))
            key = idempotency_key()
            turn = await self._say(session, script.sender, text, 1, key)
            conversation.turns.append(turn)
            if turn.status.startswith(("http_", "conn_error")):
                # The widget sends the message again, under the same key.
                await asyncio.sleep(self.retry_pause_s)
                conversation.turns.append(await self._say(session, script.sender, text, 2, key))
            self.done += 1
        return conversation

    async def run(self, scripts: List[Script], time_limit_s: float = 600.0) -> Tuple[List[Conversation], float]:
        self.total = sum(len(s.turns) for s in scripts)
        self.done = 0
        connector = aiohttp.TCPConnector(limit=len(scripts))
        async with aiohttp.ClientSession(timeout=self.timeout, connector=connector) as session:
            started = time.monotonic()
            try:
                conversations = await asyncio.wait_for(
                    asyncio.gather(*(self._converse(session, s, random.Random(i)) for i, s in enumerate(scripts))),
                    timeout=time_limit_s,
                )
            finally:
                self.finished = True
            return list(conversations), time.monotonic() - started


def burst_figures(conversations: List[Conversation], wall_s: float) -> Dict[str, Any]:
    turns = [t for c in conversations for t in c.turns]
    latencies = [t.latency_ms for t in turns if t.status in ("ok", "service_trouble")]
    statuses: Dict[str, int] = {}
    for t in turns:
        statuses[t.status] = statuses.get(t.status, 0) + 1
    handoffs = [c for c in conversations if c.script.handoff]
    retried = [t.latency_ms for t in turns if t.attempt == 2]
    return {
        "conversations": len(conversations),
        "requests": len(turns),
        "answered": len(latencies),
        "statuses": statuses,
        "wall_s": round(wall_s, 2),
        "msgs_per_s": round(len(latencies) / wall_s, 2) if wall_s else 0.0,
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "handoffs_attempted": len(handoffs),
        "handoffs_confirmed": sum(1 for c in handoffs if c.reference),
        "conversations_told_service_trouble": sum(
            1 for c in conversations if any(t.status == "service_trouble" for t in c.turns)
        ),
        "resent_messages": len(retried),
        "resent_latency_ms_max": round(max(retried), 1) if retried else None,
    }


# ---- servers ------------------------------------------------------------------------------------
def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the live processes in a process group: a replica and its Sanic
    workers. Less sensitive than throughput to what else the machine is running."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Fleet:
    """The processes this script starts, each in its own process group, with a pid file the shell
    script's trap can use if this process dies first."""

    def __init__(self) -> None:
        self.processes: Dict[str, subprocess.Popen] = {}
        PIDS.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: List[str], extra_env: Dict[str, str]) -> subprocess.Popen:
        process = procs.start(args, LOGS / f"{name}.log", procs.server_env(extra_env))
        # A restarted server appends to a fresh log of its own.
        self.processes[name] = process
        (PIDS / f"{name}.pid").write_text(str(process.pid))
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        (PIDS / f"{name}.pid").unlink(missing_ok=True)

    def stop(self, name: str) -> None:
        procs.stop(self.processes.pop(name, None))
        (PIDS / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def action_args(port: int) -> List[str]:
    return [RASA, "run", "actions", "--port", str(port), "--actions", "actions"]


def rasa_args(port: int, endpoints: Path, auth_token: Optional[str] = None) -> List[str]:
    args = [
        RASA,
        "run",
        "--model",
        env("MODEL"),
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--endpoints",
        str(endpoints),
        "--credentials",
        "credentials.yml",
    ]
    if auth_token:
        args += ["--enable-api", f"--auth-token={auth_token}"]
    return args


def clinic_db_url() -> str:
    return f"postgresql+psycopg2://clinic:{env('CLINIC_DB_PASSWORD')}@127.0.0.1:{env('PG_PORT')}/clinic"


def replica_env() -> Dict[str, str]:
    return {
        "ACTION_SERVER_URL": f"http://127.0.0.1:{env('ACTIONS_LB_PORT')}/webhook",
        "TRACKER_DB_HOST": "127.0.0.1",
        "TRACKER_DB_PORT": env("PG_PORT"),
        "TRACKER_DB_NAME": "rasa_trackers",
        "TRACKER_DB_USER": "rasa",
        "TRACKER_DB_PASSWORD": env("RASA_DB_PASSWORD"),
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": env("REDIS_PORT"),
        "REDIS_PASSWORD": env("REDIS_PASSWORD"),
        "REDIS_LOCK_DB": "1",
        # Sanic workers per replica (SANIC_WORKERS=2 make scale-out): the lock store orders a
        # conversation's messages across workers as across replicas.
        "SANIC_WORKERS": env("SANIC_WORKERS", "1"),
        # A replica that dies holding a conversation's lock frees it when its lease lapses
        # (lease_seconds in deploy/endpoints.replica.yml), not at the end of the ticket's lifetime.
        "CLINIC_DATABASE_URL": clinic_db_url(),
    }


async def wait_healthy(url: str, timeout_s: float = 180.0, process: Optional[subprocess.Popen] = None) -> float:
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while time.monotonic() - started < timeout_s:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the server for {url} exited with {process.returncode}: see {LOGS}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout_s}s")


# ---- checks -------------------------------------------------------------------------------------
async def fetch_trackers(base_url: str, token: str, senders: List[str]) -> Dict[str, Any]:
    trackers: Dict[str, Any] = {}
    semaphore = asyncio.Semaphore(8)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one(sender: str) -> None:
            async with semaphore:
                url = f"{base_url}/conversations/{sender}/tracker"
                async with session.get(url, params={"token": token, "include_events": "ALL"}) as response:
                    trackers[sender] = await response.json() if response.status == 200 else None

        await asyncio.gather(*(one(s) for s in senders))
    return trackers


def user_texts(tracker: Dict[str, Any]) -> List[str]:
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def check_tracker(conversation: Conversation, tracker: Optional[Dict[str, Any]], strict: bool) -> Optional[str]:
    """None if the tracker holds the conversation's turns in order, else what is wrong.

    strict: every request was answered, so the tracker must hold exactly the texts sent. Otherwise
    the answered turns must appear in order, and any other user text must be one whose first
    attempt failed (it may or may not have been handled before the failure)."""
    if tracker is None:
        return "no tracker"
    keys = [
        (e.get("metadata") or {}).get("idempotency_key") for e in tracker.get("events", []) if e.get("event") == "user"
    ]
    doubled = sorted({k for k in keys if k and keys.count(k) > 1})
    if doubled:
        return f"{len(doubled)} message(s) stored twice under one idempotency key"
    stored = user_texts(tracker)
    if strict:
        sent = [t.text for t in conversation.turns]
        return (
            None
            if stored == sent
            else f"stored {len(stored)} user turns, sent {len(sent)}; first difference at "
            f"{next((i for i, (a, b) in enumerate(zip(stored, sent)) if a != b), min(len(stored), len(sent)))}"
        )
    position = 0
    for turn in conversation.turns:
        answered = turn.status in ("ok", "service_trouble", "empty")
        # Find this text at or after the current position.
        try:
            found = stored.index(turn.text, position)
        except ValueError:
            found = -1
        if answered:
            if found < 0:
                return f"answered turn {turn.text!r} missing from the tracker"
            skipped = stored[position:found]
            failed_texts = {t.text for t in conversation.turns if t.status.startswith(("http_", "conn_error"))}
            if any(text not in failed_texts for text in skipped):
                return f"unexpected user turns {skipped!r} before {turn.text!r}"
            position = found + 1
    extra = [t for t in stored[position:] if t not in {c.text for c in conversation.turns}]
    return f"unexpected user turns at the end: {extra!r}" if extra else None


async def tracker_problems(
    base_url: str, token: str, conversations: List[Conversation], strict: bool
) -> Dict[str, str]:
    """Sender -> what is wrong with its tracker (check_tracker), for the conversations that fail."""
    trackers = await fetch_trackers(base_url, token, [c.script.sender for c in conversations])
    problems = {c.script.sender: check_tracker(c, trackers.get(c.script.sender), strict) for c in conversations}
    return {sender: problem for sender, problem in problems.items() if problem}


def handoff_rows() -> List[Dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(clinic_db_url(), future=True)
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT to_regclass('public.handoffs')")).scalar()
            if not exists:
                return []
            rows = connection.execute(text("SELECT conversation_id, reference, idempotency_key FROM handoffs"))
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def check_handoffs(conversations: List[Conversation], rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    by_conversation: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        by_conversation.setdefault(row["conversation_id"], []).append(row)
    problems = []
    confirmed = stored_unconfirmed = 0
    for c in conversations:
        stored = by_conversation.get(c.script.sender, [])
        if len(stored) > 1:
            problems.append(f"{c.script.sender}: stored {len(stored)} times")
        told = c.reference
        if told:
            confirmed += 1
            if not any(r["reference"] == told for r in stored):
                problems.append(f"{c.script.sender}: told {told}, not in the database (lost)")
        elif stored:
            # Written, but the reply with its reference was lost (the action server died after the
            # commit): the nurse line still has it.
            stored_unconfirmed += 1
    return {
        "confirmed": confirmed,
        "stored_rows": sum(len(by_conversation.get(c.script.sender, [])) for c in conversations),
        "stored_unconfirmed": stored_unconfirmed,
        "problems": problems,
    }


# ---- the run ------------------------------------------------------------------------------------
class Results:
    def __init__(self) -> None:
        self.checks: List[Tuple[str, bool, str]] = []
        self.figures: Dict[str, Any] = {}

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'}: {name}{' — ' + detail if detail else ''}")

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


async def single_process(args: argparse.Namespace, results: Results) -> None:
    log("single-process baseline: one Rasa server + one action server, SQLite ...")
    fleet = Fleet()
    workdir = Path(tempfile.mkdtemp(prefix="single-", dir=SCALE))
    action_port, rasa_port = procs.free_port(), procs.free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        json.dumps(
            {
                "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"},
                "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(workdir / "trackers.db")},
                "lock_store": {"type": "clinic.server.lock_store.InMemoryConversationLockStore"},
            }
        )
    )
    extra = {"CLINIC_DATABASE_URL": f"sqlite:///{workdir / 'handoffs.db'}", "SANIC_WORKERS": "1"}
    try:
        actions = fleet.start("single-actions", action_args(action_port), extra)
        rasa = fleet.start("single-rasa", rasa_args(rasa_port, endpoints), extra)
        await wait_healthy(f"http://127.0.0.1:{action_port}/health", process=actions)
        await wait_healthy(f"http://127.0.0.1:{rasa_port}/", process=rasa)
        base = f"http://127.0.0.1:{rasa_port}"
        await Burst(base).run(scripts_for(4, "single-warm", 2, False, 1))
        conversations, wall = await Burst(base).run(scripts_for(args.conversations, "single", args.faq_turns, True, 2))
        results.figures["single_process"] = burst_figures(conversations, wall)
        log(f"single process: {results.figures['single_process']}")
    finally:
        fleet.stop_all()


async def replicas(args: argparse.Namespace, results: Results) -> None:
    fleet = Fleet()
    token = env("AUTH_TOKEN")
    lb = f"http://127.0.0.1:{env('RASA_LB_PORT')}"
    rasa_ports = [int(p) for p in env("RASA_PORTS").split()]
    action_ports = [int(p) for p in env("ACTION_PORTS").split()]
    extra = replica_env()
    endpoints = ROOT / "deploy" / "endpoints.replica.yml"
    try:
        # The handoff tables are created once, before any replica starts, as a deployment's
        # migration job would: replicas creating them on first use could race each other.
        from clinic.handoff.store import HandoffStore

        store = HandoffStore(clinic_db_url())
        store.create_schema()
        store.dispose()
        log(f"starting {len(action_ports)} action servers and {len(rasa_ports)} Rasa replicas ...")
        action_servers = [
            fleet.start(f"actions-{i}", action_args(port), extra) for i, port in enumerate(action_ports, 1)
        ]
        # One replica after the other: the first creates the tracker table.
        for i, port in enumerate(rasa_ports, 1):
            replica = fleet.start(f"rasa-{i}", rasa_args(port, endpoints, token), extra)
            await wait_healthy(f"http://127.0.0.1:{port}/status?token={token}", timeout_s=300, process=replica)
        for port, server in zip(action_ports, action_servers):
            await wait_healthy(f"http://127.0.0.1:{port}/health", process=server)
        await wait_healthy(f"{lb}/status?token={token}")
        import redis

        red = redis.Redis(host="127.0.0.1", port=int(env("REDIS_PORT")), password=env("REDIS_PASSWORD"), db=1)

        # -- burst through nginx --
        await Burst(lb).run(scripts_for(4, "warm", 2, False, 1))
        red.config_resetstat()
        log(f"burst: {args.conversations} concurrent conversations through nginx ...")
        replica_groups = [fleet.processes[f"rasa-{i}"].pid for i in range(1, len(rasa_ports) + 1)]
        cpu_before = sum(group_cpu_seconds(g) for g in replica_groups)
        conversations, wall = await Burst(lb).run(scripts_for(args.conversations, "burst", args.faq_turns, True, 2))
        figures = burst_figures(conversations, wall)
        figures["rasa_cpu_ms_per_msg"] = round(
            (sum(group_cpu_seconds(g) for g in replica_groups) - cpu_before) * 1000 / max(1, figures["answered"]), 1
        )
        results.figures["replicas"] = figures
        log(f"replicas: {figures}")
        # One ticket (an INCR inside the lock store's Lua script) per message handled.
        lock_calls = {
            k: v.get("calls", 0)
            for k, v in red.info("commandstats").items()
            if k in ("cmdstat_evalsha", "cmdstat_incr", "cmdstat_hset", "cmdstat_set", "cmdstat_get")
        }
        results.figures["redis_lock_store_commands"] = lock_calls

        unanswered = figures["requests"] - figures["statuses"].get("ok", 0)
        results.check("burst: every message answered (no error, no silence)", unanswered == 0, f"{figures['statuses']}")
        bad = await tracker_problems(lb, token, conversations, strict=True)
        results.check(
            "burst: every tracker holds every turn, in order (Rasa HTTP API)",
            not bad,
            f"{len(conversations) - len(bad)}/{len(conversations)} trackers exact"
            + (f"; e.g. {next(iter(bad.items()))}" if bad else ""),
        )
        handoff_check = check_handoffs(conversations, handoff_rows())
        results.figures["burst_handoffs"] = handoff_check
        flow_works = handoff_check["confirmed"] > 0
        if not flow_works:
            sample = next((c for c in conversations), None)
            log(
                "no handoff was confirmed: the handoff flow does not complete yet; last replies: "
                + (repr([t.reply[:80] for t in sample.turns[-3:]]) if sample else "-")
            )
        results.check(
            "burst: every handoff confirmed and stored exactly once (PostgreSQL)",
            flow_works
            and handoff_check["confirmed"] == args.conversations
            and not handoff_check["problems"]
            and handoff_check["stored_rows"] == args.conversations,
            f"{handoff_check['confirmed']}/{args.conversations} confirmed, {handoff_check['stored_rows']} rows"
            + (f"; {handoff_check['problems'][:3]}" if handoff_check["problems"] else ""),
        )
        results.check(
            "burst: our Redis lock store took a ticket for every message",
            lock_calls.get("cmdstat_incr", 0) >= figures["requests"],
            f"{lock_calls.get('cmdstat_incr', 0)} tickets for {figures['requests']} requests; {lock_calls}",
        )
        single = results.figures.get("single_process", {}).get("msgs_per_s")
        if single:
            results.figures["throughput_ratio"] = round(figures["msgs_per_s"] / single, 2)

        # -- the race test: messages of one conversation at the same moment on two replicas --
        await race_test(args, results, [f"http://127.0.0.1:{p}" for p in rasa_ports], token)

        # -- faults under load --
        await fault_burst(args, results, fleet, lb, token, rasa_ports, action_ports, extra, red)
    finally:
        fleet.stop_all()


@dataclass
class RaceCase:
    sender: str
    kind: str  # "pair", "triple", "same-key pair"
    urls: List[str]  # the replica each request goes to
    texts: List[str]
    keys: List[str]
    opener: Optional[str]  # a message handled before the race (None: the race opens the conversation)
    answers: List[Tuple[int, List[str], float]] = field(default_factory=list)  # status, reply texts, seconds


async def post_message(
    session: aiohttp.ClientSession, base: str, sender: str, text: str, key: str
) -> Tuple[int, List[str], float]:
    """(HTTP status, or 0 if the connection failed; the reply texts; seconds)."""
    started = time.perf_counter()
    body = {"sender": sender, "message": text, "metadata": {"idempotency_key": key}}
    try:
        async with session.post(f"{base}/webhooks/rest/webhook", json=body) as response:
            raw = await response.read()
            if response.status != 200:
                return response.status, [], time.perf_counter() - started
            return 200, [m.get("text") or "" for m in json.loads(raw)], time.perf_counter() - started
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return 0, [], time.perf_counter() - started


def user_turns(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The tracker's user messages, each with the bot's replies up to the next one and whether the
    bot went back to listening before it (the turn was finished before the next began)."""
    turns: List[Dict[str, Any]] = []
    for event in tracker.get("events", []):
        kind = event.get("event")
        if kind == "user":
            turns.append(
                {
                    "text": event.get("text"),
                    "key": (event.get("metadata") or {}).get("idempotency_key"),
                    "replies": [],
                    "finished": False,
                }
            )
        elif turns and kind == "bot":
            turns[-1]["replies"].append(event.get("text") or "")
        elif turns and kind == "action" and event.get("name") == "action_listen":
            turns[-1]["finished"] = True
    return turns


def race_case_counts(case: RaceCase, tracker: Optional[Dict[str, Any]]) -> Dict[str, int]:
    counts = {"lost": 0, "doubled": 0, "interleaved": 0, "reply_mismatch": 0, "http_errors": 0, "out_of_order": 0}
    counts["http_errors"] = sum(1 for status, _, _ in case.answers if status != 200)
    turns = user_turns(tracker or {})
    keys = [t["key"] for t in turns]
    for key in dict.fromkeys(case.keys):
        found = keys.count(key)
        counts["lost"] += found == 0
        counts["doubled"] += max(0, found - 1)
    # Each turn finished (the bot listening again) before the next message was handled.
    counts["interleaved"] = sum(1 for t in turns if not t["finished"])
    if case.opener and (not turns or turns[0]["text"] != case.opener):
        counts["out_of_order"] += 1
    by_key = {t["key"]: t for t in turns}
    for (status, replies, _), key, text in zip(case.answers, case.keys, case.texts):
        turn = by_key.get(key)
        if status == 200 and turn is not None and (turn["text"] != text or turn["replies"] != replies):
            counts["reply_mismatch"] += 1
    return counts


async def race_test(args: argparse.Namespace, results: Results, replica_urls: List[str], token: str) -> None:
    """Pairs (and triples) of messages of one conversation posted at the same moment to different
    replicas, a few conversations at a time; then every tracker read through Rasa's HTTP API."""
    questions = sorted(set(faq_questions()))
    rng = random.Random(7)
    run = uuid.uuid4().hex[:6]
    kinds = ["pair"] * args.race_pairs + ["triple"] * args.race_triples + ["same-key pair"] * args.race_same_key
    rng.shuffle(kinds)
    cases = []
    for i, kind in enumerate(kinds):
        size = 3 if kind == "triple" else 2
        first, second = replica_urls[i % 2], replica_urls[(i + 1) % 2]
        urls = [first, second, first][:size]
        if kind == "same-key pair":
            texts, keys = [rng.choice(questions)] * 2, [idempotency_key()] * 2
        else:
            texts, keys = rng.sample(questions, size), [idempotency_key() for _ in range(size)]
        # Half the races open their conversation (both replicas find no tracker), half follow a greeting.
        cases.append(RaceCase(f"scale-race-{run}-{i:03d}", kind, urls, texts, keys, "hello" if i % 2 else None))
    log(
        f"race test: {args.race_pairs} pairs, {args.race_triples} triples and {args.race_same_key} pairs under one "
        f"idempotency key, posted at once to both replicas ({args.race_concurrency} conversations at a time) ..."
    )
    semaphore = asyncio.Semaphore(args.race_concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:

        async def one(case: RaceCase) -> None:
            async with semaphore:
                if case.opener:
                    await post_message(session, case.urls[1], case.sender, case.opener, idempotency_key())
                case.answers = list(
                    await asyncio.gather(
                        *(
                            post_message(session, url, case.sender, text, key)
                            for url, text, key in zip(case.urls, case.texts, case.keys)
                        )
                    )
                )

        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one(c) for c in cases)), timeout=900)
        wall = time.monotonic() - started
    trackers = await fetch_trackers(replica_urls[0], token, [c.sender for c in cases])
    totals: Dict[str, int] = {}
    bad_cases = []
    for case in cases:
        counts = race_case_counts(case, trackers.get(case.sender))
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) + value
        if any(counts.values()):
            bad_cases.append(f"{case.sender} ({case.kind}): " + ", ".join(f"{k}={v}" for k, v in counts.items() if v))
    slowest = [max(seconds for _, _, seconds in c.answers) for c in cases]
    messages = sum(len(dict.fromkeys(c.keys)) for c in cases)
    figures = {
        "cases": {k: kinds.count(k) for k in dict.fromkeys(kinds)},
        "requests": sum(len(c.keys) for c in cases),
        "messages": messages,
        **totals,
        "wall_s": round(wall, 1),
        "slower_reply_s_p50": round(statistics.median(slowest), 2),
        "slower_reply_s_p95": round(percentile(slowest, 0.95), 2),
        "bad_cases": bad_cases[:10],
    }
    results.figures["race"] = figures
    log(f"race: {figures}")
    results.check(
        "race: every message of simultaneous pairs and triples stored once, none lost (Rasa HTTP API)",
        totals["lost"] == 0 and totals["doubled"] == 0,
        f"{messages} messages in {len(cases)} races: {totals['lost']} lost, {totals['doubled']} doubled",
    )
    results.check(
        "race: each message followed by its own replies, one turn after the other, every request answered",
        totals["interleaved"] == totals["reply_mismatch"] == totals["http_errors"] == totals["out_of_order"] == 0,
        f"{totals['interleaved']} interleaved, {totals['reply_mismatch']} replies not the tracker's, "
        f"{totals['http_errors']} HTTP errors, {totals['out_of_order']} out of order"
        + (f"; e.g. {bad_cases[0]}" if bad_cases else ""),
    )


async def kill_while_holding(
    fleet: Fleet, name: str, victim_url: str, other_url: str, red: Any, token: str
) -> Dict[str, Any]:
    """Kills replica `name` (SIGKILL) while it handles a message and holds its conversation's lock;
    the message is then sent again, under the same key, to the other replica, as the widget does.
    Blocked = from the kill to that answer."""
    rng = random.Random(11)
    text, follow_up = rng.sample(sorted(set(faq_questions())), 2)
    sender = f"scale-kill-{uuid.uuid4().hex[:8]}"
    key = idempotency_key()
    tickets = f"tpi:convlock:{{{sender}}}:t"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        request = asyncio.create_task(post_message(session, victim_url, sender, text, key))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not request.done() and not red.hlen(tickets):
            await asyncio.sleep(0.001)
        fleet.kill(name)
        killed = time.monotonic()
        held = bool(red.hlen(tickets))
        first = await request
        status, replies, _ = await post_message(session, other_url, sender, text, key)
        blocked = time.monotonic() - killed
        next_status, _, next_seconds = await post_message(session, other_url, sender, follow_up, idempotency_key())
    tracker = (await fetch_trackers(other_url, token, [sender]))[sender] or {}
    turns = user_turns(tracker)
    return {
        "lock_held_at_kill": held,
        "killed_request_status": first[0],
        "resent_status": status,
        "blocked_s": round(blocked, 2),
        "next_message_status": next_status,
        "next_message_s": round(next_seconds, 2),
        "stored_once": [t["key"] for t in turns].count(key) == 1 and [t["text"] for t in turns][-1:] == [follow_up],
        "resent_answer_is_the_trackers": bool(replies)
        and any(t["key"] == key and t["replies"] == replies for t in turns),
    }


async def fault_burst(
    args: argparse.Namespace,
    results: Results,
    fleet: Fleet,
    lb: str,
    token: str,
    rasa_ports: List[int],
    action_ports: List[int],
    extra: Dict[str, str],
    red: Any,
) -> None:
    log(
        f"fault case: {args.conversations} conversations with pauses; killing a Rasa replica, "
        "then each action server in turn ..."
    )
    burst = Burst(lb, think_s=(args.think_min, args.think_max))
    scripts = scripts_for(args.conversations, "fault", args.faq_turns, True, 3)
    events: List[str] = []

    async def at(share: float) -> bool:
        """Waits until `share` of the burst's messages are done; False if the burst ended first."""
        while burst.total == 0 or burst.done < share * burst.total:
            if burst.finished:
                return False
            await asyncio.sleep(0.05)
        return True

    def note(text: str) -> None:
        events.append(f"{time.strftime('%H:%M:%S')} ({burst.done}/{burst.total} messages) {text}")
        log(text)

    injected = []

    async def faults() -> None:
        if not await at(0.15):
            return
        kill = await kill_while_holding(
            fleet, "rasa-1", f"http://127.0.0.1:{rasa_ports[0]}", f"http://127.0.0.1:{rasa_ports[1]}", red, token
        )
        results.figures["replica_kill"] = kill
        injected.append("rasa-1")
        note(
            f"killed Rasa replica 1 (port {rasa_ports[0]}, SIGKILL) while it held a conversation's lock "
            f"({kill['lock_held_at_kill']}); the message resent to replica 2 was answered after {kill['blocked_s']} s"
        )
        for i, port in enumerate(action_ports, 1):
            if not await at(0.35 if i == 1 else 0.6):
                return
            fleet.kill(f"actions-{i}")
            injected.append(f"actions-{i}")
            note(f"killed action server {i} (port {port}, SIGKILL)")
            await asyncio.sleep(2)
            restarted = fleet.start(f"actions-{i}-restarted", action_args(port), extra)
            waited = await wait_healthy(f"http://127.0.0.1:{port}/health", process=restarted)
            note(f"action server {i} back after {waited:.1f} s")
            # nginx tries a server it saw fail again after fail_timeout (2 s): only then is the
            # restarted one serving, and the next may be stopped.
            await asyncio.sleep(3)

    fault_task = asyncio.create_task(faults())
    conversations, wall = await burst.run(scripts)
    await asyncio.wait_for(fault_task, timeout=240)
    figures = burst_figures(conversations, wall)
    figures["events"] = events
    results.figures["faults"] = figures
    log(f"faults: {figures}")

    results.check(
        "faults: all injected while the burst ran",
        len(injected) == 1 + len(action_ports),
        f"killed {', '.join(injected) or 'nothing'}",
    )
    kill = results.figures.get("replica_kill") or {}
    results.check(
        "faults: a replica killed holding a conversation's lock blocks it under 5 s; its message stored once",
        bool(kill.get("lock_held_at_kill"))
        and kill.get("resent_status") == 200
        and kill.get("blocked_s", 99) < 5
        and kill.get("next_message_status") == 200
        and bool(kill.get("stored_once"))
        and bool(kill.get("resent_answer_is_the_trackers")),
        json.dumps(kill),
    )
    statuses = figures["statuses"]
    silent = statuses.get("empty", 0)
    results.check(
        "faults: every request got an answer or an honest error (none silent)",
        silent == 0,
        ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())),
    )
    # Every patient message eventually got a reply: either its first attempt, or the retry.
    unresolved = 0
    for c in conversations:
        for turn in c.turns:
            if turn.status.startswith(("http_", "conn_error")) and turn.attempt == 2:
                unresolved += 1
    results.check(
        "faults: every failed message answered when sent again", unresolved == 0, f"{unresolved} messages failed twice"
    )
    bad = await tracker_problems(lb, token, conversations, strict=False)
    results.check(
        "faults: every answered turn in its tracker, in order",
        not bad,
        f"{len(conversations) - len(bad)}/{len(conversations)} trackers consistent"
        + (f"; e.g. {next(iter(bad.items()))}" if bad else ""),
    )
    handoff_check = check_handoffs(conversations, handoff_rows())
    results.figures["fault_handoffs"] = handoff_check
    results.check(
        "faults: no stored handoff lost or doubled",
        not handoff_check["problems"],
        f"{handoff_check['confirmed']} confirmed to the patient, {handoff_check['stored_rows']} stored, "
        f"{handoff_check['stored_unconfirmed']} stored without the patient seeing the reference"
        + (f"; {handoff_check['problems'][:3]}" if handoff_check["problems"] else ""),
    )


def summary(results: Results) -> None:
    f = results.figures
    print("\n==== scale-out summary ====")
    rows = [
        ("single process (1 Rasa, 1 action server, SQLite)", f.get("single_process")),
        ("2 Rasa + 2 action replicas, PostgreSQL + Redis, nginx", f.get("replicas")),
        ("same, with the faults (patients pausing 0.3-1.5 s)", f.get("faults")),
    ]
    print(f"{'setup':<56} {'msgs':>5} {'msgs/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'handoffs':>9}")
    for title, figures in rows:
        if figures:
            print(
                f"{title:<56} {figures['requests']:>5} {figures['msgs_per_s']:>7} {figures['p50_ms']:>8} "
                f"{figures['p95_ms']:>8} {figures['handoffs_confirmed']:>4}/{figures['handoffs_attempted']:<4}"
            )
    race = f.get("race")
    if race:
        print(
            f"race test ({', '.join(f'{v} {k}s' for k, v in race['cases'].items())}; {race['messages']} messages, "
            f"{race['requests']} requests): {race['lost']} lost, {race['doubled']} doubled, "
            f"{race['interleaved']} interleaved, {race['reply_mismatch']} replies not the tracker's, "
            f"{race['http_errors']} HTTP errors; slower reply p50 {race['slower_reply_s_p50']} s, "
            f"p95 {race['slower_reply_s_p95']} s"
        )
    kill = f.get("replica_kill")
    if kill:
        print(
            f"replica killed holding a conversation's lock: the conversation answered again after "
            f"{kill['blocked_s']} s (message resent under its key; stored once: {kill['stored_once']})"
        )
    if (f.get("replicas") or {}).get("rasa_cpu_ms_per_msg"):
        print(f"CPU of the Rasa replicas per message in the burst: {f['replicas']['rasa_cpu_ms_per_msg']} ms")
    if f.get("throughput_ratio"):
        print(f"throughput, replicas vs single process: {f['throughput_ratio']}x (2 cores shared by everything)")
    faults = f.get("faults") or {}
    for line in faults.get("events", []):
        print(f"  fault: {line}")
    if faults:
        print(
            f"  during the faults: {faults['statuses'].get('service_trouble', 0)} replies were the honest "
            f"'part of our system isn't responding' (in {faults['conversations_told_service_trouble']} "
            f"conversations), {faults['resent_messages']} HTTP errors were sent again by the patient "
            f"(slowest answer to a resent message {faults['resent_latency_ms_max']} ms)"
        )
    print()
    for name, ok, detail in results.checks:
        print(f"[{'PASS' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}")
    print(f"\nscale-out: {'PASS' if results.passed else 'FAIL'}")
    (SCALE / "results.json").write_text(json.dumps({"figures": f, "checks": results.checks}, indent=2))
    print(f"details: {SCALE / 'results.json'}, logs in {LOGS}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--faq-turns", type=int, default=3)
    parser.add_argument("--think-min", type=float, default=0.3)
    parser.add_argument("--think-max", type=float, default=1.5)
    parser.add_argument("--race-pairs", type=int, default=200)
    parser.add_argument("--race-triples", type=int, default=40)
    parser.add_argument("--race-same-key", type=int, default=20, help="pairs of one message under one idempotency key")
    parser.add_argument("--race-concurrency", type=int, default=4, help="races in flight at once")
    parser.add_argument("--skip-single", action="store_true", help="skip the single-process baseline")
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    results = Results()

    def interrupted(signum: int, frame: Any) -> None:
        # Unwinds through the `finally` blocks that stop the replicas this script started.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)

    async def run() -> None:
        if not args.skip_single:
            await single_process(args, results)
        await replicas(args, results)

    try:
        asyncio.run(run())
    except (Exception, KeyboardInterrupt) as error:  # a crash is a FAIL with its reason, after the summary
        results.check("the test ran to the end", False, f"{type(error).__name__}: {error}")
    summary(results)
    return 0 if results.passed else 1


if __name__ == "__main__":
    sys.exit(main())
