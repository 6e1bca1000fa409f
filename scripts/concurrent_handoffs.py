"""Runs many patient conversations at once against a running bot, each completing a nurse-line
handoff, then checks the handoff database: exactly one record per conversation, and every record's
name, phone, reason and transcript belong to its own conversation.

  .venv/bin/python scripts/concurrent_handoffs.py [--bot-url http://127.0.0.1:5005] [--conversations 50]
                                                  [--database-url URL]   (default: the clinic's settings)

Exit status 0 when every check passed. The patients are invented (555-01xx numbers are fictional).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.handoff.patient_input import normalise_phone
from clinic.handoff.store import get_store
from clinic.settings import get_settings

REFERENCE = re.compile(r"\bTPI-[0-9A-Z]{5}\b")
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vi", "zu", "bel", "dor"]


@dataclass
class Invented:
    sender: str
    name: str
    phone_typed: str
    phone: str
    reason: str
    reference: Optional[str] = None
    error: Optional[str] = None
    seconds: float = 0.0
    messages: int = 0
    replies: List[str] = field(default_factory=list)


def invented_patients(count: int, run_id: str = "") -> List[Invented]:
    """Distinct, valid and recognisable answers for each conversation."""
    run_id = run_id or uuid.uuid4().hex[:6]
    people = []
    for i in range(count):
        first = "".join(SYLLABLES[int(d)] for d in f"{i:02d}").capitalize()
        typed = f"(212) 555-01{i % 100:02d}"
        people.append(
            Invented(
                sender=f"load-{run_id}-{i:03d}",
                name=f"{first} Testperson",
                phone_typed=typed,
                phone=normalise_phone(typed) or "",
                reason=f"concurrency check {i:03d}: my shoulder still hurts",
            )
        )
    return people


async def say(session: aiohttp.ClientSession, bot_url: str, person: Invented, text: str) -> str:
    async with session.post(
        f"{bot_url}/webhooks/rest/webhook", json={"sender": person.sender, "message": text}
    ) as response:
        response.raise_for_status()
        reply = "\n".join(m.get("text", "") for m in await response.json())
    person.messages += 1
    person.replies.append(reply)
    return reply


# Each message, and a few words the bot's reply to it must contain.
def script_for(person: Invented) -> List[Tuple[str, str]]:
    return [
        ("I want to talk to a nurse", "call you back"),
        ("/affirm", "What name should the nurse ask for?"),
        (person.name, "What phone number"),
        (person.phone_typed, "good time to call"),
        ("any time", "what would you like the nurse to help with"),
        (person.reason, "see this chat"),
        ("/affirm", "your reference is"),
    ]


async def converse(session: aiohttp.ClientSession, bot_url: str, person: Invented) -> None:
    start = time.monotonic()
    try:
        for step, (text, expected) in enumerate(script_for(person), 1):
            reply = await say(session, bot_url, person, text)
            if expected not in reply:
                # The bot's words only (the replies here repeat no patient detail before the last step).
                person.error = f"step {step}: expected {expected!r}, got {reply[:100]!r}"
                break
        else:
            found = REFERENCE.findall(reply)
            person.reference = found[0] if len(found) == 1 else None
            if person.reference is None:
                person.error = "no reference in the last reply"
    except Exception as error:  # reported per conversation below
        person.error = f"{type(error).__name__}"
    person.seconds = time.monotonic() - start


def check(people: List[Invented], database_url: Optional[str]) -> Tuple[int, List[str]]:
    """(records found for these conversations, problems); no problems means every record is right."""
    store = get_store(database_url or get_settings().database_url)
    senders = {p.sender: p for p in people}
    records = [
        h for h in store.list_handoffs(("new", "claimed", "resolved"), limit=100_000) if h["conversation_id"] in senders
    ]
    problems = []
    if len(records) != len(people):
        problems.append(f"{len(records)} records for {len(people)} conversations")
    seen = set()
    for record in records:
        person = senders[record["conversation_id"]]
        if record["conversation_id"] in seen:
            problems.append(f"{person.sender}: more than one record")
        seen.add(record["conversation_id"])
        if person.reference != record["reference"]:
            problems.append(f"{person.sender}: told {person.reference}, stored {record['reference']}")
        if (record["patient_name"], record["callback_phone"], record["reason"]) != (
            person.name,
            person.phone,
            person.reason,
        ):
            problems.append(f"{person.sender}: answers belong to another conversation")
        patient_lines = [line["text"] for line in record["transcript"] if line["who"] == "patient"]
        others = [p for p in people if p is not person and (p.name in patient_lines or p.reason in patient_lines)]
        if person.name not in patient_lines or person.reason not in patient_lines or others:
            problems.append(f"{person.sender}: transcript mixed up")
    return len(records), problems


async def run(bot_url: str, count: int) -> List[Invented]:
    people = invented_patients(count)
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(converse(session, bot_url, person) for person in people))
    return people


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bot-url", default="http://127.0.0.1:5005")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    started = time.monotonic()
    people = asyncio.run(run(args.bot_url.rstrip("/"), args.conversations))
    elapsed = time.monotonic() - started
    failed = [p for p in people if p.error]
    durations = sorted(p.seconds for p in people)
    messages = sum(p.messages for p in people)
    records, problems = check(people, args.database_url)

    print(f"conversations:          {len(people)} at once")
    print(f"completed with a reference: {len(people) - len(failed)}")
    print(f"messages sent:          {messages} in {elapsed:.1f} s ({messages / elapsed:.1f} msg/s)")
    print(
        f"conversation time:      median {statistics.median(durations):.1f} s, "
        f"p95 {durations[int(0.95 * (len(durations) - 1))]:.1f} s, max {durations[-1]:.1f} s"
    )
    print(f"records in the database: {records}")
    for person in failed[:10]:
        print(f"  {person.sender}: {person.error}")
    for problem in problems[:20]:
        print(f"  {problem}")
    if failed or problems:
        print("FAILED")
        return 1
    print(f"OK: exactly {len(people)} records, one per conversation, none mixed up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
