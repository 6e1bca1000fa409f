"""The topic contract (clinic/data/topics.yml): topic ids, button titles, sources and answer fits,
in English and in Spanish."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional

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
    fits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    title_es: str = ""
    fits_es: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    names_es: Mapping[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> str:
        return f"{RETRIEVAL_INTENT}:{self.id}"

    def title_in(self, language: Optional[str]) -> str:
        return (self.title_es or self.title) if language == SPANISH else self.title

    def fit_for(self, entity: str, value: str, language: Optional[str] = None) -> Optional[str]:
        """What the documents support for a body part or medication the patient named, in the
        conversation's language."""
        spanish = language == SPANISH
        by_value = (self.fits_es if spanish else self.fits).get(entity) or {}
        text = by_value.get(value) or by_value.get("_other")
        if not text:
            return None
        name = value.replace("_", " ")
        return text.format(value=self.names_es.get(value, name) if spanish else name)


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
            fits=spec.get("fits") or {},
            title_es=spec.get("title_es") or "",
            fits_es=spec.get("fits_es") or {},
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
