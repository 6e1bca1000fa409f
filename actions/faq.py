"""Actions around FAQ answers: fitting an answer to what the patient named, answering in the context
of the conversation (follow-ups, the same question again, two questions in one message), and asking
when unsure."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.tracker_history import previous_bot_action
from clinic.dialogue.context import LAST_TOPIC_SLOT, Context, context_from_events
from clinic.dialogue.followups import NURSE_LINE, REFERENCE, Reading, Resolution, load_rules, resolve
from clinic.dialogue.parts import MAX_ANSWERS, topics_to_answer
from clinic.topics import load_contract, selected_topic, topic_ranking

CLARIFY_ACTION = "action_clarify_topic"
NURSE_BUTTON = "utter_nurse_button"
CLARIFY_RESPONSES = ("utter_clarify_topic", "utter_clarify_rephrase")
SAME_TOPIC = "utter_follow_up_same_topic"
GIVE_UP = "utter_clarify_give_up"
NOT_COVERED = "utter_follow_up_not_covered"
LANGUAGE_SLOT = "language"
# Topics below this share of the response selector's belief are not worth offering as a guess.
MIN_CANDIDATE_CONFIDENCE = 0.1
MAX_CANDIDATES = 3
# Topics related to the last one come first in a clarification, at most this many.
MAX_RELATED = 2

Domain = Dict[Text, Any]


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
        responses = _responses(domain)
        for entity in tracker.latest_message.get("entities") or []:
            fit = topic.fit_for(entity.get("entity", ""), str(entity.get("value", "")), responses, language)
            # Several named parts can share one answer ("neck and back"): it is said once.
            said_as = fit and (str(responses[fit[0]]), tuple(sorted(fit[1].items())))
            if fit and said_as not in said:
                said.add(said_as)
                dispatcher.utter_message(response=fit[0], **fit[1])
        return []


def _responses(domain: Domain) -> Dict[Text, Any]:
    return domain.get("responses") or {}


def _nurse_buttons(domain: Domain, language: Optional[Text]) -> List[Dict[Text, Any]]:
    """The "talk to a nurse" button, titled in the conversation's language as the domain words it."""
    variations = _responses(domain).get(NURSE_BUTTON) or []
    wanted = [v for v in variations if any(c.get("value") == language for c in v.get("condition") or [])]
    plain = [v for v in variations if not v.get("condition")]
    title = (wanted or plain or [{}])[0].get("text")
    return [{"title": title, "payload": "/request_nurse"}] if title else []


def related_topics(topic: Optional[Text], domain: Domain) -> List[Text]:
    """The topics an answer offers as its follow-up buttons ("faq:<id>")."""
    if not topic:
        return []
    contract = load_contract()
    variations = _responses(domain).get(f"utter_faq/{topic}") or [{}]
    related = []
    for button in variations[0].get("buttons") or []:
        chosen = contract.topic_from_payload(str(button.get("payload") or ""))
        if chosen:
            related.append(chosen.id)
    return related


class ActionAnswerInContext(Action):
    """Answers a message that the conversation so far decides (see clinic/dialogue/routing.py): a
    follow-up resolved against the last topic, the same question again (said differently), two
    questions in one message; when it still cannot tell, it asks, offering the topics related to
    the last one first, and after a second miss proposes a call from the nurse line."""

    def name(self) -> Text:
        return "action_answer_in_context"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Domain) -> List[Dict[Text, Any]]:
        context = context_from_events(tracker.events)
        parse = tracker.latest_message or {}
        language = tracker.get_slot(LANGUAGE_SLOT)
        topics = topics_to_answer(parse)
        if topics:
            return self._answer_topics(dispatcher, topics, language)
        resolution = resolve(Reading.from_parse(parse), context)
        if resolution is None:
            return self._clarify(dispatcher, tracker, context, domain)
        return self._answer(dispatcher, resolution, context, domain, language)

    # ---- answers ----

    @staticmethod
    def _answer_topics(
        dispatcher: CollectingDispatcher, topics: List[Text], language: Optional[Text] = None
    ) -> List[Dict[Text, Any]]:
        answered, left = topics[:MAX_ANSWERS], topics[MAX_ANSWERS:]
        for topic in answered:
            dispatcher.utter_message(response=f"utter_faq/{topic}")
        if left:
            contract = load_contract()
            dispatcher.utter_message(
                response="utter_more_questions_left",
                buttons=[
                    {"title": contract.topics[t].title_in(language), "payload": contract.topics[t].payload}
                    for t in left
                    if t in contract.topics
                ],
            )
        return [SlotSet(LAST_TOPIC_SLOT, answered[-1])]

    def _answer(
        self,
        dispatcher: CollectingDispatcher,
        resolution: Resolution,
        context: Context,
        domain: Domain,
        language: Optional[Text] = None,
    ) -> List[Dict[Text, Any]]:
        responses = _responses(domain)
        previous = context.previous_responses
        if resolution.kind == NURSE_LINE:
            again = "utter_nurse_line_number" in previous
            dispatcher.utter_message(response="utter_nurse_line_number_again" if again else "utter_nurse_line_number")
            return []
        if resolution.kind == REFERENCE:
            dispatcher.utter_message(response="utter_handoff_reference")
            return []
        topic = resolution.topic
        if topic not in load_contract().topics:
            return self._clarify(dispatcher, None, context, domain)
        said = self._detail(dispatcher, resolution, topic, context, responses, language)
        if not said:
            same = resolution.repeat or topic == context.last_topic
            if same and SAME_TOPIC not in previous:
                dispatcher.utter_message(response=SAME_TOPIC)
            else:
                dispatcher.utter_message(response=f"utter_faq/{topic}")
        return [SlotSet(LAST_TOPIC_SLOT, topic)]

    @staticmethod
    def _detail(
        dispatcher: CollectingDispatcher,
        resolution: Resolution,
        topic: Text,
        context: Context,
        responses: Dict[Text, Any],
        language: Optional[Text] = None,
    ) -> bool:
        """Says the detail of the topic the patient asked about, if the documents give one."""
        same = resolution.repeat or topic == context.last_topic
        detail = f"utter_detail_{topic}_{resolution.detail}" if resolution.detail else None
        if detail and detail in responses and detail not in context.previous_responses:
            dispatcher.utter_message(response=detail)
            return True
        if not resolution.entity:
            return False
        entity, value = resolution.entity
        by_value = f"utter_detail_{topic}_{value}"
        fit = load_contract().topics[topic].fit_for(entity, value, responses, language)
        if by_value in responses and by_value not in context.previous_responses:
            if not same:
                dispatcher.utter_message(response=f"utter_faq/{topic}")
            dispatcher.utter_message(response=by_value)
            return True
        if fit:
            if not same:
                dispatcher.utter_message(response=f"utter_faq/{topic}")
            dispatcher.utter_message(response=fit[0], **fit[1])
            return True
        if same:
            dispatcher.utter_message(response=NOT_COVERED, subject=value.replace("_", " "))
            return True
        return False

    # ---- asking back ----

    @staticmethod
    def _second_miss(tracker: Optional[Tracker], context: Context) -> bool:
        if GIVE_UP in context.previous_responses:
            return False  # the proposal was just made: a new miss is asked back, not proposed again
        if any(r in CLARIFY_RESPONSES for r in context.previous_responses):
            return True
        answered = any(
            r.startswith(("utter_faq/", "utter_detail_", "utter_follow_up")) for r in context.previous_responses
        )
        return tracker is not None and previous_bot_action(tracker) == CLARIFY_ACTION and not answered

    def _clarify(
        self, dispatcher: CollectingDispatcher, tracker: Optional[Tracker], context: Context, domain: Domain
    ) -> List[Dict[Text, Any]]:
        if self._second_miss(tracker, context):
            dispatcher.utter_message(response=GIVE_UP)
            return []
        contract = load_contract()
        ranked = [
            r["topic"]
            for r in topic_ranking(tracker.latest_message if tracker else {})
            if r["confidence"] >= MIN_CANDIDATE_CONFIDENCE and r["topic"] in contract.topics
        ]
        related = related_topics(context.recent_topic(load_rules().recent_turns), domain)[:MAX_RELATED]
        candidates = list(dict.fromkeys(related + ranked))[:MAX_CANDIDATES]
        if candidates:
            language = tracker.get_slot(LANGUAGE_SLOT) if tracker else None
            nurse = _nurse_buttons(domain, language)
            dispatcher.utter_message(
                response="utter_clarify_topic",
                buttons=[
                    {"title": contract.topics[t].title_in(language), "payload": contract.topics[t].payload}
                    for t in candidates
                ]
                + nurse,
            )
        else:
            dispatcher.utter_message(response="utter_clarify_rephrase")
        return []


class ActionClarifyTopic(ActionAnswerInContext):
    """The fallback for a message the NLU could not place (rule: nlu_fallback): the same reading in
    context as action_answer_in_context, so that an unclear follow-up is still answered when the
    conversation decides it; otherwise the two-stage clarification."""

    def name(self) -> Text:
        return CLARIFY_ACTION
