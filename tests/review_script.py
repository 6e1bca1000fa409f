"""The review queue's scripted patients: 100 conversations built from tests/data/review_conversations.yml
(the same every run), run through the real assistant over the REST channel.

Used by tests/test_review_loop.py and scripts/review_loop.py.
"""

from __future__ import annotations

import json
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

SCRIPT_FILE = Path(__file__).resolve().parent / "data" / "review_conversations.yml"
OPENERS = ["hi", "hello", "how long does the relief last", "what is a trigger point injection", "does the needle hurt"]
# How the assistant's replies begin when it deflects or asks back (domain.yml's texts).
DEFLECTION_STARTS = ("I'm sorry, I can't answer that", "I'm sorry, I still can't tell", "Sorry, something went wrong")
ASK_BACK_STARTS = ("I want to be sure I answer the right question", "Sorry, I didn't understand that")


def load_script() -> Dict:
    return yaml.safe_load(SCRIPT_FILE.read_text(encoding="utf-8"))


@dataclass
class Message:
    text: str
    family: Optional[str] = None  # the question family, for the questions of the script
    name: Optional[str] = None  # the patient's name, when typed into this message
    phone: Optional[str] = None
    replies: List[str] = field(default_factory=list)

    @property
    def reply(self) -> str:
        return "\n".join(self.replies)

    @property
    def deflected_or_asked_back(self) -> bool:
        first = self.replies[0] if self.replies else ""
        return first.startswith(DEFLECTION_STARTS + ASK_BACK_STARTS)


@dataclass
class Conversation:
    sender: str
    patient: Dict[str, str]
    messages: List[Message]
    handoff: bool = False


def build(count: int = 100, seed: int = 16, run_id: str = "review") -> List[Conversation]:
    script = load_script()
    rng = random.Random(seed)
    phrasings = [(family, text) for family, texts in script["families"].items() for text in texts]
    rng.shuffle(phrasings)
    conversations = []
    turn = 0
    for index in range(count):
        patient = script["patients"][index % len(script["patients"])]
        messages: List[Message] = []
        if rng.random() < 0.5:
            messages.append(Message(rng.choice(OPENERS)))
        for _ in range(2 if rng.random() < 0.3 else 1):
            family, question = phrasings[turn % len(phrasings)]
            turn += 1
            text = rng.choice(script["wrappers"]).format(q=question)
            message = Message(text, family)
            if rng.random() < 0.25:
                message.text = rng.choice(script["name_in_question"]).format(name=patient["name"], q=message.text)
                message.name = patient["name"]
            if rng.random() < 0.25:
                message.text = rng.choice(script["phone_in_question"]).format(phone=patient["phone"], q=message.text)
                message.phone = patient["phone"]
            messages.append(message)
        handoff = rng.random() < 0.25
        if handoff:
            family = messages[-1].family
            messages += [
                Message("/request_nurse"),
                Message("/affirm"),
                Message(patient["name"], name=patient["name"]),
                Message(patient["phone"], phone=patient["phone"]),
                Message("weekday mornings"),
                Message(f"I have a question about {family.replace('_', ' ')}"),
                Message("/affirm"),
            ]
        conversations.append(
            Conversation(f"{run_id}-{index:03d}-{rng.getrandbits(32):08x}", patient, messages, handoff)
        )
    return conversations


def say(base_url: str, sender: str, text: str) -> List[str]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        base_url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return [m.get("text") or "" for m in json.loads(response.read())]


def run(base_url: str, conversations: List[Conversation], workers: int = 3) -> None:
    """Each conversation in order, several conversations at once; the replies are kept on the messages."""

    def one(conversation: Conversation) -> None:
        for message in conversation.messages:
            message.replies = say(base_url, conversation.sender, message.text)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, conversations))


def personal_details(conversations: List[Conversation]) -> List[str]:
    """Every name and phone number typed, as typed and in their digits."""
    details = set()
    for conversation in conversations:
        for message in conversation.messages:
            if message.name:
                details.add(message.name)
                details.update(part for part in message.name.replace("-", " ").split() if len(part) > 3)
            if message.phone:
                details.add(message.phone)
                digits = "".join(ch for ch in message.phone if ch.isdigit())
                details.update({digits, digits[-10:]})
    return sorted(details)
