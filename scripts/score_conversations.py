#!/usr/bin/env python
"""Scores whole conversations (issue 14): call-back requests as patients make them, and follow-up
questions in context. See clinic/tools/conversations.py for what counts.

    .venv/bin/python scripts/score_conversations.py                 start a Rasa server and an action
                                                                      server on the trained model
    .venv/bin/python scripts/score_conversations.py --bot-url URL   play against a running bot
    options: -v (every miss with its replies), --json FILE, --sets DIR (a folder with callbacks.yml
    and followups.yml: tests/data/conversations/es for the Spanish ones)

Starts its servers on free ports with a handoff database of its own in a temporary folder (the
clinic's database is never written). Exit status 1 when a target is missed (call-backs >= 95%,
follow-ups >= 90%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import procs  # noqa: E402
from clinic.tools.conversations import SETS, TARGETS, RestPlayer, figures, run_all  # noqa: E402

MODEL = ROOT / "models" / "current.tar.gz"


@contextmanager
def servers(model: Path) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="score-conversations-") as tmp:
        work = Path(tmp)
        env = procs.server_env(
            {"CLINIC_DATABASE_URL": f"sqlite:///{work / 'handoffs.db'}", "SANIC_KEEP_ALIVE_TIMEOUT": "75"}
        )
        action_port, rasa_port = procs.free_port(), procs.free_port()
        endpoints = work / "endpoints.yml"
        endpoints.write_text(
            json.dumps(
                {
                    "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"},
                    "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(work / "trackers.db")},
                }
            )
        )
        actions = rasa = None
        try:
            actions = procs.start(
                [str(procs.VENV_BIN / "rasa"), "run", "actions", "--port", str(action_port), "--actions", "actions"],
                work / "actions.log",
                env,
            )
            rasa = procs.start(
                [
                    str(procs.VENV_BIN / "rasa"),
                    "run",
                    "--model",
                    str(model),
                    "--port",
                    str(rasa_port),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                    "--enable-api",
                ],
                work / "rasa.log",
                env,
            )
            procs.wait_for_http(f"http://127.0.0.1:{action_port}/health", process=actions)
            procs.wait_for_http(f"http://127.0.0.1:{rasa_port}/status", timeout=300, process=rasa)
            yield f"http://127.0.0.1:{rasa_port}"
        finally:
            procs.stop(rasa)
            procs.stop(actions)


def report(results, verbose: bool, sets: Path) -> dict:
    numbers = figures(results, sets)
    cb, fu = numbers["callbacks"], numbers["followups"]
    print(
        f"call-backs: {cb['passed']}/{cb['total']} = {cb['rate']:.1%} (target {TARGETS['callbacks']:.0%}); "
        f"confirmed {cb['confirmed']}, stopped with nothing sent {cb['stopped']}"
    )
    print(
        f"follow-ups: {fu['passed']}/{fu['total']} = {fu['rate']:.1%} resolved to the right topic "
        f"(target {TARGETS['followups']:.0%})"
    )
    print(f"same reply twice in a row: {numbers['repeated_replies']}")
    for name, items in results.items():
        for result in items:
            if result.ok:
                continue
            print(f"  MISS {name}: {result.id}: {'; '.join(result.problems)}")
            if verbose:
                for turn in result.turns:
                    print(f"      > {turn.text!r} [{turn.intent}]")
                    for reply in turn.replies:
                        print(f"        < {reply['response'] or '-'}: {reply['text'][:110]!r}")
    return numbers


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bot-url")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sets", type=Path, default=SETS)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.bot_url:
        results = run_all(RestPlayer(args.bot_url), sets=args.sets)
    else:
        with servers(args.model) as url:
            results = run_all(RestPlayer(url), sets=args.sets)
    numbers = report(results, args.verbose, args.sets)
    print(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))
    missed = [k for k, target in TARGETS.items() if numbers[k]["rate"] < target]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
