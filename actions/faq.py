"""Actions around FAQ answers: fitting an answer to what the patient named, and asking when unsure."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.tracker_history import previous_bot_action
from clinic.topics import load_contract, selected_topic, topic_ranking

CLARIFY_ACTION = "action_clarify_topic"
NURSE_BUTTON = {"title": "Talk to a nurse", "payload": "/request_nurse"}
NURSE_BUTTON_ES = {"title": "Hablar con una enfermera", "payload": "/request_nurse"}
LANGUAGE_SLOT = "language"
# Topics below this share of the response selector's belief are not worth offering as a guess.
MIN_CANDIDATE_CONFIDENCE = 0.1
MAX_CANDIDATES = 3


class ActionTopicFit(Action):
    """Adds what the documents say about the body part or medication the patient named."""

    def name(self) -> Text:
        return "action_topic_fit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        topic_id = selected_topic(tracker.latest_message)
        topic = load_contract().topics.get(topic_id) if topic_id else None
        if topic is None:
            return []
        said = set()
        language = tracker.get_slot(LANGUAGE_SLOT)
        for entity in tracker.latest_message.get("entities") or []:
            fit = topic.fit_for(entity.get("entity", ""), str(entity.get("value", "")), language)
            if fit and fit not in said:
                said.add(fit)
                dispatcher.utter_message(text=fit)
        return []


class ActionClarifyTopic(Action):
    """Two-stage fallback: first ask which topic was meant; after a second miss, hand over."""

    def name(self) -> Text:
        return CLARIFY_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if previous_bot_action(tracker) == CLARIFY_ACTION:
            dispatcher.utter_message(response="utter_clarify_give_up")
            return []
        contract = load_contract()
        candidates = [
            contract.topics[r["topic"]]
            for r in topic_ranking(tracker.latest_message)
            if r["confidence"] >= MIN_CANDIDATE_CONFIDENCE and r["topic"] in contract.topics
        ][:MAX_CANDIDATES]
        if candidates:
            language = tracker.get_slot(LANGUAGE_SLOT)
            nurse = NURSE_BUTTON_ES if language == "es" else NURSE_BUTTON
            dispatcher.utter_message(
                response="utter_clarify_topic",
                buttons=[{"title": t.title_in(language), "payload": t.payload} for t in candidates] + [nurse],
            )
        else:
            dispatcher.utter_message(response="utter_clarify_rephrase")
        return []
