"""Where a message's time goes: the model is loaded with rasa.core.agent.Agent, with a SQL tracker
store and a real action server as the Rasa server has them, and every step a message takes is
timed: the tracker load, each graph node of the NLU pipeline (and each pipe inside spaCy), slot
extraction, each policy graph node per prediction, each action (custom actions over HTTP), and the
tracker save. Messages are the held-out ones, sent one after another; figures are per message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from bench import procs
from bench.load import heldout_messages

# (section, name) -> [calls, seconds]
_timings: Dict[Tuple[str, str], List[float]] = defaultdict(lambda: [0, 0.0])
_phase: List[str] = []
_enabled = [False]


def _add(section: str, name: str, seconds: float) -> None:
    if _enabled[0]:
        entry = _timings[(section, name)]
        entry[0] += 1
        entry[1] += seconds


@contextmanager
def _in_phase(name: str) -> Iterator[None]:
    _phase.append(name)
    try:
        yield
    finally:
        _phase.pop()


def _wrap_sync(owner: Any, attribute: str, section: str, name: str, phase: Optional[str] = None) -> None:
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            if phase:
                with _in_phase(phase):
                    return original(*args, **kwargs)
            return original(*args, **kwargs)
        finally:
            _add(section, name, time.perf_counter() - started)

    setattr(owner, attribute, timed)


def _wrap_async(owner: Any, attribute: str, section: str, name: str) -> None:
    original = getattr(owner, attribute)

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            _add(section, name, time.perf_counter() - started)

    setattr(owner, attribute, timed)


class _TimedPipe:
    """A spaCy pipe that reports its own time."""

    def __init__(self, name: str, proc: Any):
        self._name, self._proc = name, proc

    def __call__(self, doc: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._proc(doc, **kwargs)
        finally:
            _add("nlu", f"  spaCy pipe: {self._name}", time.perf_counter() - started)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._proc, attribute)


def _instrument_spacy(language: Any) -> None:
    if getattr(language, "_bench_timed", False):
        return
    language._bench_timed = True
    tokenizer = language.tokenizer

    class _TimedTokenizer:
        def __call__(self, text: str) -> Any:
            started = time.perf_counter()
            try:
                return tokenizer(text)
            finally:
                _add("nlu", "  spaCy tokenizer", time.perf_counter() - started)

        def __getattr__(self, attribute: str) -> Any:
            return getattr(tokenizer, attribute)

    language.tokenizer = _TimedTokenizer()
    language._components = [(name, _TimedPipe(name, proc)) for name, proc in language._components]


def instrument() -> None:
    """Wraps Rasa's message path; call before the agent is loaded."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.engine.graph import GraphNode
    from rasa.engine.runner.dask import DaskGraphRunner

    original_call = GraphNode.__call__

    def node_call(self: GraphNode, *inputs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = original_call(self, *inputs)
        finally:
            elapsed = time.perf_counter() - started
            _add(_phase[-1] if _phase else "other", f"node {self._node_name}", elapsed)
        output = result[1]
        spacy_language = getattr(output, "model", None)
        if spacy_language is not None and hasattr(spacy_language, "_components"):
            _instrument_spacy(spacy_language)
        return result

    GraphNode.__call__ = node_call

    _wrap_sync(DaskGraphRunner, "run", "graph", "graph runs (nodes + dask overhead)")
    _wrap_sync(MessageProcessor, "_parse_message_with_graph", "nlu", "NLU graph run (total)", phase="nlu")
    _wrap_sync(MessageProcessor, "_predict_next_with_tracker", "policy", "policy graph run (total)", phase="policy")
    _wrap_async(MessageProcessor, "fetch_tracker_and_update_session", "tracker", "tracker load (SQL) + session check")
    _wrap_async(MessageProcessor, "run_action_extract_slots", "actions", "action_extract_slots")
    _wrap_async(MessageProcessor, "save_tracker", "tracker", "tracker save (SQL)")

    original_run_action = MessageProcessor._run_action

    async def run_action(self: MessageProcessor, action: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_run_action(self, action, *args, **kwargs)
        finally:
            kind = "custom, HTTP" if isinstance(action, RemoteAction) else "built-in"
            _add("actions", f"{action.name()} ({kind})", time.perf_counter() - started)

    MessageProcessor._run_action = run_action


SECTIONS = [
    ("total", "Whole message (Agent.handle_message, lock included)"),
    ("tracker", "Tracker store"),
    ("nlu", "NLU pipeline (graph nodes; spaCy pipes inside SpacyNLP)"),
    ("policy", "Dialogue policies (graph nodes, all predictions of the message)"),
    ("actions", "Actions"),
    ("graph", "Graph runner"),
    ("other", "Other graph nodes"),
]


def table(messages: int) -> List[Dict[str, Any]]:
    rows = []
    total = _timings.get(("total", "message"), [0, 0.0])[1] or 1e-9
    for section, _title in SECTIONS:
        entries = [(name, calls, seconds) for (sec, name), (calls, seconds) in _timings.items() if sec == section]
        for name, calls, seconds in entries:
            rows.append(
                {
                    "section": section,
                    "name": name,
                    "calls_per_msg": round(calls / messages, 2),
                    "ms_per_msg": round(seconds / messages * 1000, 3),
                    "share": round(seconds / total, 4),
                }
            )
    return rows


def _order(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    ranked = []
    for section, _title in SECTIONS:
        in_section = [r for r in rows if r["section"] == section]
        # Totals first, then nodes by time; spaCy's pipes stay right under the SpacyNLP node.
        heads = sorted([r for r in in_section if not r["name"].startswith("  ")], key=lambda r: -r["ms_per_msg"])
        subs = sorted([r for r in in_section if r["name"].startswith("  ")], key=lambda r: -r["ms_per_msg"])
        for row in heads:
            ranked.append(row)
            if "SpacyNLP" in row["name"] and row["name"].startswith("node run_"):
                ranked.extend(subs)
                subs = []
        ranked.extend(subs)
    return ranked


def format_table(rows: List[Dict[str, Any]], title: str) -> str:
    titles = dict(SECTIONS)
    lines = [title, f"{'step':<62} {'calls/msg':>9} {'ms/msg':>9} {'share':>7}"]
    section = None
    for row in _order(rows):
        if row["section"] != section:
            section = row["section"]
            lines.append(f"-- {titles[section]}")
        lines.append(
            f"{row['name'][:62]:<62} {row['calls_per_msg']:>9.2f} {row['ms_per_msg']:>9.2f} {row['share'] * 100:>6.1f}%"
        )
    return "\n".join(lines)


async def _drive(agent: Any, texts: List[str], warmup: int, turns: int) -> Tuple[int, float]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    run_id = uuid.uuid4().hex[:8]
    measured = 0
    for index, text in enumerate(texts):
        _enabled[0] = index >= warmup
        started = time.perf_counter()
        await agent.handle_message(
            UserMessage(text, CollectingOutputChannel(), sender_id=f"profile-{run_id}-{index // turns}")
        )
        _add("total", "message", time.perf_counter() - started)
        measured += index >= warmup
    _enabled[0] = False
    return measured, 0.0


def profile_model(
    model_path: Path, messages: int = 120, warmup: int = 10, turns: int = 4, seed: int = 11
) -> Dict[str, Any]:
    """Profiles `model_path` in this process, with an action server of its own; returns the rows."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    _timings.clear()
    instrument()
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    env = procs.server_env({"CLINIC_DATABASE_URL": f"sqlite:///{workdir / 'handoffs.db'}"})
    port = procs.free_port()
    action_server = procs.start(
        [str(procs.VENV_BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        workdir / "action_server.log",
        env,
    )
    try:
        procs.wait_for_http(f"http://127.0.0.1:{port}/health", process=action_server)
        tracker_store = TrackerStore.create(
            EndpointConfig(type="SQL", dialect="sqlite", db=str(workdir / "trackers.db"))
        )
        agent = Agent.load(
            str(model_path),
            tracker_store=tracker_store,
            action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"),
        )
        pool = heldout_messages()
        rng = random.Random(seed)
        texts = [rng.choice(pool) for _ in range(messages + warmup)]
        measured, _ = asyncio.run(_drive(agent, texts, warmup, turns))
    finally:
        procs.stop(action_server)
    return {"messages": measured, "rows": table(measured)}


if __name__ == "__main__":
    import json
    import sys

    result = profile_model(Path(sys.argv[1]), messages=int(sys.argv[2]) if len(sys.argv) > 2 else 120)
    print(json.dumps(result))
