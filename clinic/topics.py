"""The topic contract (clinic/data/topics.yml): topic ids, button titles and sources, in English and
in Spanish, and which of the domain's responses fits a body part or medication the patient named."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Collection, Dict, List, Mapping, Optional, Tuple

import yaml

from clinic.settings import DATA_DIR

TOPICS_FILE = DATA_DIR / "topics.yml"
RETRIEVAL_INTENT = "faq"
# A topic button sends "faq:<id>", which selects the topic without guessing (see TopicGate).
TOPIC_PAYLOAD = re.compile(r"^\s*faq:([a-z_]+)\s*$")
SPANISH = "es"


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    title_es: str = ""
    names_es: Mapping[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> str:
        return f"{RETRIEVAL_INTENT}:{self.id}"

    def title_in(self, language: Optional[str]) -> str:
        return (self.title_es or self.title) if language == SPANISH else self.title

    def fit_for(
        self, entity: str, value: str, responses: Collection[str], language: Optional[str] = None
    ) -> Optional[Tuple[str, Dict[str, str]]]:
        """The response saying what the documents support for a body part or medication the patient
        named (its name and the value it names), when the domain has one for this topic."""
        exact, other = f"utter_fit_{self.id}_{value}", f"utter_fit_{self.id}_other_{entity}"
        if exact in responses:
            return exact, {}
        if other in responses:
            name = value.replace("_", " ")
            return other, {"value": self.names_es.get(value, name) if language == SPANISH else name}
        return None


@dataclass(frozen=True)
class Contract:
    topics: Dict[str, Topic]
    sources: Dict[str, str]

    def topic_from_payload(self, text: str) -> Optional[Topic]:
        match = TOPIC_PAYLOAD.match(text or "")
        return self.topics.get(match.group(1)) if match else None


@lru_cache(maxsize=1)
def load_contract() -> Contract:
    raw = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    names_es = dict(raw.get("body_part_names_es") or {})
    topics = {
        topic_id: Topic(
            id=topic_id,
            title=spec["title"],
            title_es=spec.get("title_es") or "",
            names_es=names_es,
        )
        for topic_id, spec in raw["topics"].items()
    }
    return Contract(topics=topics, sources=dict(raw["sources"]))


def topic_ids() -> List[str]:
    return list(load_contract().topics)


RESPONSE_SELECTOR = "response_selector"


def topic_ranking(parse_data: Mapping) -> List[Dict[str, Any]]:
    """[{"topic": id, "confidence": c}, ...] best first, from a parsed message's response selector."""
    selector = (parse_data.get(RESPONSE_SELECTOR) or {}).get(RETRIEVAL_INTENT) or {}
    ranking = []
    for entry in selector.get("ranking") or []:
        key = entry.get("intent_response_key") or ""
        if key.startswith(RETRIEVAL_INTENT + "/"):
            ranking.append({"topic": key.split("/", 1)[1], "confidence": float(entry.get("confidence", 0.0))})
    return ranking


def selected_topic(parse_data: Mapping) -> Optional[str]:
    """The topic a parsed message was answered with, if it was a FAQ question."""
    if (parse_data.get("intent") or {}).get("name") != RETRIEVAL_INTENT:
        return None
    ranking = topic_ranking(parse_data)
    return ranking[0]["topic"] if ranking else None
