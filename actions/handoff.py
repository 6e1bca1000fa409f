"""The nurse-line handoff: offering it, the form that collects what the nurse needs, and the
submission that records it.

The patient is told a reference and a call only after the record is committed; on any database
trouble they get the honest apology with the nurse line's number instead. Patient answers never go
into a log line here.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_history import previous_bot_action
from clinic.handoff import record as handoff_record
from clinic.handoff.callback_window import callback_window, line_status
from clinic.handoff.patient_input import (
    clean_callback_time,
    clean_name,
    clean_reason,
    display_phone,
    is_stop_request,
    normalise_phone,
)
from clinic.handoff.store import NewHandoff, StoreUnavailable, get_store
from clinic.responses import HANDOFF_STOPPED, SERVICE_TROUBLE, URGENT_WARNING
from clinic.settings import get_settings

logger = logging.getLogger(__name__)

FORM_SLOTS = ("patient_name", "callback_phone", "callback_time", "handoff_reason", "handoff_consent")
KIND_SLOT = "handoff_kind"
REFERENCE_SLOT = "handoff_reference"
STOPPED = HANDOFF_STOPPED
DIDNT_HELP_TOPIC = "faq/not_helping"
LANGUAGE_SLOT = "language"


def _latest_intent(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _previous_user_message(tracker: Tracker) -> Dict[Text, Any]:
    """The patient's message before the latest one."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    return users[-2] if len(users) >= 2 else {}


def _message_before_warning(tracker: Tracker) -> Optional[Text]:
    """The patient's message that the urgent red-flag warning answered."""
    warned = False
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == URGENT_WARNING:
            warned = True
        elif warned and event.get("event") == "user":
            return event.get("text")
    return None


def _form_was_open_before_this_message(tracker: Tracker) -> bool:
    """False at the form's activation, when the "yes" that opened it has already been answered."""
    open_form = None
    latest_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1)
    for event in tracker.events[:latest_user]:
        if event.get("event") == "active_loop":
            open_form = event.get("name")
    return open_form == handoff_record.FORM_NAME


def accepted_urgent_warning(tracker: Tracker) -> bool:
    """The patient said yes to the red-flag warning's "shall the nurse line call you?"."""
    return _latest_intent(tracker) == "affirm" and previous_bot_action(tracker) == URGENT_WARNING


def handoff_kind(tracker: Tracker) -> Text:
    if accepted_urgent_warning(tracker):
        return "urgent"
    if _latest_intent(tracker) == "book_appointment":
        return "scheduling"
    previous = (_previous_user_message(tracker).get("parse_data") or {}).get("intent") or {}
    if previous.get("full_retrieval_intent_name") == DIDNT_HELP_TOPIC:
        return "didnt_help"
    return "question"


class ActionOfferHandoff(Action):
    """Offers a nurse-line call back, worded for why the patient needs one."""

    def name(self) -> Text:
        return "action_offer_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        kind = handoff_kind(tracker)
        if kind == "urgent":
            # They already said yes to a call at the warning: asking again would only slow them down.
            dispatcher.utter_message(response="utter_handoff_urgent_start")
        else:
            dispatcher.utter_message(response=f"utter_offer_handoff_{kind}",
                                     line_status=line_status(get_settings().nurse_line,
                                                             language=tracker.get_slot(LANGUAGE_SLOT)))
        return [SlotSet(KIND_SLOT, kind)]


class ValidateHandoffForm(FormValidationAction):
    """Checks each answer as it comes (one validate_<slot> per slot) and asks again, kindly, for
    one that cannot be used."""

    def name(self) -> Text:
        return "validate_handoff_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if accepted_urgent_warning(tracker) and _form_was_open_before_this_message(tracker):
            return self._urgent_mid_form(dispatcher, tracker)
        if _latest_intent(tracker) != "deny" and is_stop_request(tracker.latest_message.get("text")):
            # The same ending as the "deny" rule (data/rules/handoff.yml), for a "stop" the NLU did
            # not read as deny.
            dispatcher.utter_message(response=STOPPED)
            return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]
        events = await super().run(dispatcher, tracker, domain)
        values = dict(tracker.slots)
        values.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
        if all(values.get(slot) is not None for slot in FORM_SLOTS):
            # Said before the form closes, so the patient is never left without a reply while the
            # record is written (and the safety policy can tell a working form from a dead one).
            dispatcher.utter_message(response="utter_handoff_sending")
        return events

    @staticmethod
    def _urgent_mid_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        """A red flag came up mid-form and the patient said yes to a call: that "yes" answers the
        warning, not the form's question, and makes the request urgent. When the form had asked for
        the reason, the message that raised the flag is the reason, in the patient's own words."""
        dispatcher.utter_message(response="utter_handoff_marked_urgent")
        events = [SlotSet(KIND_SLOT, "urgent")]
        requested = tracker.get_slot("requested_slot")
        if requested == "handoff_reason":
            events.append(SlotSet(requested, clean_reason(_message_before_warning(tracker))))
        elif requested in FORM_SLOTS:
            events.append(SlotSet(requested, None))
        return events

    def validate_patient_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        name = clean_name(value)
        if name is None:
            dispatcher.utter_message(response="utter_invalid_patient_name")
        return {"patient_name": name}

    def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        phone = normalise_phone(value)
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_callback_phone")
        return {"callback_phone": phone}

    def validate_callback_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        when = clean_callback_time(value)
        if when is None:
            dispatcher.utter_message(response="utter_invalid_callback_time")
        return {"callback_time": when}

    def validate_handoff_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        reason = clean_reason(value)
        if reason is None:
            dispatcher.utter_message(response="utter_invalid_handoff_reason")
        return {"handoff_reason": reason}

    def validate_handoff_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        if value is True:
            return {"handoff_consent": True}
        # Only an explicit yes counts; anything else is asked again (a "no" stops the form by rule).
        dispatcher.utter_message(response="utter_invalid_handoff_consent")
        return {"handoff_consent": None}


def _said_this_turn(tracker: Tracker, response: Text) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == response:
            return True
    return False


def _answers(tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """The form's answers, re-checked: the submission trusts nothing it did not validate itself."""
    answers = {
        "patient_name": clean_name(tracker.get_slot("patient_name")),
        "callback_phone": normalise_phone(tracker.get_slot("callback_phone")),
        "callback_time": clean_callback_time(tracker.get_slot("callback_time")),
        "reason": clean_reason(tracker.get_slot("handoff_reason")),
    }
    if tracker.get_slot("handoff_consent") is not True or any(v is None for v in answers.values()):
        return None
    return answers


def _new_handoff(tracker: Tracker, answers: Dict[Text, Any]) -> NewHandoff:
    kind = tracker.get_slot(KIND_SLOT) or "question"
    flags = handoff_record.red_flags(tracker.events)
    return NewHandoff(
        idempotency_key=handoff_record.idempotency_key(tracker.sender_id, tracker.events),
        conversation_id=tracker.sender_id,
        kind=kind,
        urgency=handoff_record.urgency(flags, kind),
        consent=True,
        topics=handoff_record.topics(tracker.events),
        red_flags=flags,
        transcript=handoff_record.transcript(tracker.events),
        language=handoff_record.language(tracker.get_slot(LANGUAGE_SLOT)),
        **answers,
    )


class ActionSubmitHandoff(Action):
    def name(self) -> Text:
        return "action_submit_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        # The answers are cleared either way, so that a later request in the same conversation asks
        # afresh instead of silently re-sending old answers.
        cleared = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if _said_this_turn(tracker, STOPPED):
            # The patient stopped the form, which closed it; they have had their answer.
            return cleared
        answers = _answers(tracker)
        if answers is None:
            dispatcher.utter_message(response="utter_handoff_incomplete")
            return cleared
        settings = get_settings()
        try:
            store = get_store(settings.database_url)
            handoff, created = await asyncio.to_thread(
                store.create_handoff, _new_handoff(tracker, answers), bool(settings.webhook_url)
            )
        except StoreUnavailable as error:
            logger.error("handoff not recorded: database unavailable (%s)", error)
            dispatcher.utter_message(response=SERVICE_TROUBLE)
            return cleared
        logger.info("handoff %s %s (kind=%s urgency=%s)", handoff["reference"],
                    "recorded" if created else "already recorded", handoff["kind"], handoff["urgency"])
        self._confirm(dispatcher, handoff, settings, tracker.get_slot(LANGUAGE_SLOT))
        return cleared + [SlotSet(REFERENCE_SLOT, handoff["reference"])]

    @staticmethod
    def _confirm(dispatcher: CollectingDispatcher, handoff: Dict[Text, Any], settings,
                 language: Optional[Text] = None) -> None:
        window = callback_window(settings.nurse_line, datetime.now(timezone.utc), language)
        details = {
            "reference": handoff["reference"],
            "phone": display_phone(handoff["callback_phone"]),
            "when": handoff["callback_time"],
        }
        if window.open_now:
            dispatcher.utter_message(response="utter_handoff_submitted_open", **details)
        elif window.next_opening:
            dispatcher.utter_message(response="utter_handoff_submitted_closed", next_opening=window.next_opening, **details)
        else:
            dispatcher.utter_message(response="utter_handoff_submitted_unscheduled", **details)
