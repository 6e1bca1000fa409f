"""The nurse-line handoff: offering it, the form that collects what the nurse needs, and the
submission that records it.

The patient is told a reference and a call only after the record is committed; on any database
trouble they get the honest apology with the nurse line's number instead. Patient answers never go
into a log line here.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_history import previous_bot_action
from clinic.dialogue.context import context_from_events, current_turn, replies_this_turn
from clinic.handoff import record as handoff_record
from clinic.handoff.callback_window import callback_window, line_status
from clinic.handoff.form_answers import CONSENT, DETAILS, NAME, PHONE, REASON, TIME, FormReading, read_form_message
from clinic.handoff.form_answers import looks_like_name as _looks_like_name
from clinic.handoff.patient_input import (
    clean_callback_time,
    clean_name,
    clean_reason,
    display_phone,
    find_name,
    find_phone,
    find_reason,
    find_time,
    is_stop_request,
    normalise_phone,
)
from clinic.handoff.store import NewHandoff, StoreUnavailable, get_store
from clinic.responses import HANDOFF_STOPPED, SERVICE_TROUBLE, URGENT_WARNINGS
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
        if event.get("event") == "action" and event.get("name") in URGENT_WARNINGS:
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
    return _latest_intent(tracker) == "affirm" and previous_bot_action(tracker) in URGENT_WARNINGS


def handoff_kind(tracker: Tracker) -> Text:
    if accepted_urgent_warning(tracker):
        return "urgent"
    if _latest_intent(tracker) == "book_appointment":
        return "scheduling"
    previous = (_previous_user_message(tracker).get("parse_data") or {}).get("intent") or {}
    if previous.get("full_retrieval_intent_name") == DIDNT_HELP_TOPIC:
        return "didnt_help"
    return "question"


# ---- reading the patient's messages for the form ----

WHICH_DETAIL = "utter_ask_which_detail"
START_RESPONSES = ("utter_handoff_start", "utter_handoff_start_scheduling", "utter_handoff_urgent_start")


def _slots_before_this_message(tracker: Tracker) -> Dict[Text, Any]:
    """The form's details as they stood before the patient's latest message (from the events, which
    the extraction does not change while it runs)."""
    latest_user = max(
        (i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=len(tracker.events)
    )
    values: Dict[Text, Any] = {}
    for event in tracker.events[:latest_user]:
        if event.get("event") == "slot" and event.get("name") in FORM_SLOTS:
            values[event["name"]] = event.get("value")
    return values


def _validating_a_new_message(tracker: Tracker) -> bool:
    """True when the form validates the patient's latest message; False at the form's activation and
    when it comes back after a rule answered the message (a question, "what's that for?")."""
    if not _form_was_open_before_this_message(tracker):
        return False
    ran = {e.get("name") for e in current_turn(tracker.events) if e.get("event") == "action"}
    return ran <= {handoff_record.FORM_NAME, "action_listen", None}


def form_reading(tracker: Tracker) -> Optional[FormReading]:
    if not _validating_a_new_message(tracker):
        return None
    message = tracker.latest_message or {}
    previous = context_from_events(tracker.events).previous_responses
    return read_form_message(
        str(message.get("text") or ""),
        _latest_intent(tracker),
        tracker.get_slot("requested_slot"),
        _slots_before_this_message(tracker),
        asked_which_detail=WHICH_DETAIL in previous,
    )


def extracted(tracker: Tracker, slot: Text) -> Dict[Text, Any]:
    """What the patient's latest message gives one of the form's slots ({} for nothing)."""
    reading = form_reading(tracker)
    if reading is None or reading.interrupt:
        return {}
    if slot in reading.values:
        return {slot: reading.values[slot]}
    if slot in reading.cleared:
        return {slot: None}
    if slot == tracker.get_slot("requested_slot") and reading.nothing:
        # "ok", "thanks": nothing to take, and no reason to leave the form; it asks again.
        return {slot: None}
    return {}


def was_corrected(tracker: Tracker, slot: Text) -> bool:
    reading = form_reading(tracker)
    return reading is not None and slot in reading.corrected


def previous_value(tracker: Tracker, slot: Text) -> Any:
    return _slots_before_this_message(tracker).get(slot)


def _user_texts_since_last_handoff(tracker: Tracker) -> List[Text]:
    """The patient's messages in this session since the last request was sent (oldest first)."""
    texts: List[Text] = []
    for event in handoff_record.current_session(tracker.events):
        if event.get("event") == "slot" and event.get("name") == REFERENCE_SLOT and event.get("value"):
            texts = []
        elif event.get("event") == "user" and event.get("text") and not str(event["text"]).startswith("/"):
            texts.append(str(event["text"]))
    return texts


def volunteered_details(tracker: Tracker, kind: Text) -> Dict[Text, Any]:
    """Details the patient has already given: a name or number anywhere since the last request, a
    time and what it is about in the request itself."""
    texts = _user_texts_since_last_handoff(tracker)
    details: Dict[Text, Any] = {}
    for text in texts:
        name, phone = find_name(text), find_phone(text)
        if name:
            details[NAME] = name
        if phone:
            details[PHONE] = phone
    request = texts[-1] if texts else ""
    answered_offer = "action_offer_handoff" in context_from_events(tracker.events).previous_actions
    if answered_offer and NAME not in details and _looks_like_name(request) and not find_phone(request):
        details[NAME] = clean_name(request)
    when = find_time(request)
    if when:
        details[TIME] = when
    reason = find_reason(request)
    if kind == "scheduling" and re.search(
        r"\b(?:for|para)\s+(?:my|the|a|an|his|her|mi|el|la|los|las|un|una|su)\s+\w", request, re.IGNORECASE
    ):
        reason = clean_reason(request)
    if reason and kind != "urgent":
        details[REASON] = reason
    return {slot: value for slot, value in details.items() if value}


def _noted(details: Dict[Text, Any]) -> Text:
    """The details already given, as the patient will recognise them."""
    shown = [
        display_phone(value) if slot == PHONE else str(value)
        for slot in DETAILS
        for value in [details.get(slot)]
        if value
    ]
    return ", ".join(shown)


class ActionStartHandoff(Action):
    """Starts the call-back form for a patient who asked for it (or accepted the assistant's
    proposal): says in one line what it will ask and that "stop" ends it, and takes the details the
    patient has already given, which the form then confirms instead of asking."""

    def name(self) -> Text:
        return "action_start_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        context = context_from_events(tracker.events)
        answered_offer = "action_offer_handoff" in context.previous_actions
        kind = (tracker.get_slot(KIND_SLOT) if answered_offer else None) or handoff_kind(tracker)
        details = volunteered_details(tracker, kind)
        if not answered_offer or not details:
            # After the offer the patient has heard what is needed; otherwise, one line on what the
            # form will ask and that "stop" ends it (and never silence: a silent action reads as failed).
            dispatcher.utter_message(
                response="utter_handoff_start_scheduling" if kind == "scheduling" else "utter_handoff_start",
                line_status=line_status(get_settings().nurse_line, language=tracker.get_slot(LANGUAGE_SLOT)),
            )
        if details:
            dispatcher.utter_message(response="utter_handoff_noted", noted=_noted(details))
        events = [SlotSet(KIND_SLOT, kind)] + [SlotSet(slot, None) for slot in FORM_SLOTS]
        return events + [SlotSet(slot, value) for slot, value in details.items()]


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
            dispatcher.utter_message(
                response=f"utter_offer_handoff_{kind}",
                line_status=line_status(get_settings().nurse_line, language=tracker.get_slot(LANGUAGE_SLOT)),
            )
        return [SlotSet(KIND_SLOT, kind)]


class ValidateHandoffForm(FormValidationAction):
    """Checks each answer as it comes (one validate_<slot> per slot) and asks again, kindly, for
    one that cannot be used."""

    def name(self) -> Text:
        return "validate_handoff_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        if accepted_urgent_warning(tracker) and _form_was_open_before_this_message(tracker):
            return self._urgent_mid_form(dispatcher, tracker)
        reading = form_reading(tracker)
        if reading is not None and reading.which_detail:
            # "something's wrong" at the summary: which part? (the summary is not shown again now)
            dispatcher.utter_message(response=WHICH_DETAIL)
            return [SlotSet(CONSENT, None)]
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

    # ---- extraction: what the patient's message gives the form (clinic/handoff/form_answers.py) ----

    def extract_patient_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return extracted(tracker, NAME)

    def extract_callback_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return extracted(tracker, PHONE)

    def extract_callback_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return extracted(tracker, TIME)

    def extract_handoff_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return extracted(tracker, REASON)

    def extract_handoff_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return extracted(tracker, CONSENT)

    # ---- validation: one validate_<slot> per slot ----

    def validate_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {NAME: None}
        name = clean_name(value)
        if name is None:
            dispatcher.utter_message(response="utter_invalid_patient_name")
        elif was_corrected(tracker, NAME):
            dispatcher.utter_message(response="utter_changed_patient_name", patient_name=name)
        return {NAME: name}

    def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {PHONE: None}
        phone = normalise_phone(value)
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_callback_phone")
            if was_corrected(tracker, PHONE):
                # A new number that cannot be used does not replace the one given before.
                return {PHONE: previous_value(tracker, PHONE)}
        elif was_corrected(tracker, PHONE):
            dispatcher.utter_message(response="utter_changed_callback_phone", phone=display_phone(phone))
        return {PHONE: phone}

    def validate_callback_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {TIME: None}
        when = clean_callback_time(value)
        if when is None:
            dispatcher.utter_message(response="utter_invalid_callback_time")
        elif was_corrected(tracker, TIME):
            dispatcher.utter_message(response="utter_changed_callback_time", callback_time=when)
        return {TIME: when}

    def validate_handoff_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {REASON: None}
        reason = clean_reason(value)
        if reason is None:
            dispatcher.utter_message(response="utter_invalid_handoff_reason")
        elif was_corrected(tracker, REASON):
            dispatcher.utter_message(response="utter_changed_handoff_reason")
        return {REASON: reason}

    def validate_handoff_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {CONSENT: None}
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
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
        logger.info(
            "handoff %s %s (kind=%s urgency=%s)",
            handoff["reference"],
            "recorded" if created else "already recorded",
            handoff["kind"],
            handoff["urgency"],
        )
        self._confirm(dispatcher, handoff, settings, tracker.get_slot(LANGUAGE_SLOT))
        return cleared + [SlotSet(REFERENCE_SLOT, handoff["reference"])]

    @staticmethod
    def _confirm(
        dispatcher: CollectingDispatcher, handoff: Dict[Text, Any], settings, language: Optional[Text] = None
    ) -> None:
        window = callback_window(settings.nurse_line, datetime.now(timezone.utc), language)
        details = {
            "reference": handoff["reference"],
            "phone": display_phone(handoff["callback_phone"]),
            "when": handoff["callback_time"],
        }
        if window.open_now:
            dispatcher.utter_message(response="utter_handoff_submitted_open", **details)
        elif window.next_opening:
            dispatcher.utter_message(
                response="utter_handoff_submitted_closed", next_opening=window.next_opening, **details
            )
        else:
            dispatcher.utter_message(response="utter_handoff_submitted_unscheduled", **details)


# ---- the form's questions (Rasa asks for a slot with action_ask_<slot> when the domain has one) ----


class ActionAskForDetail(Action):
    """Asks for one of the form's details, and never with the same reply as the one before: asked
    again right after asking (an answer that could not be used, twice; an "ok"), it says it
    differently and gives the nurse line's number."""

    slot: Text = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def response(self, tracker: Tracker, said: List[Text]) -> Text:
        return f"utter_ask_{self.slot}"

    def variables(self, tracker: Tracker) -> Dict[Text, Any]:
        return {}

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        said = replies_this_turn(tracker.events)
        response = self.response(tracker, said)
        if said + [response] == context_from_events(tracker.events).previous_responses:
            response = f"utter_ask_{self.slot}_again"
        dispatcher.utter_message(response=response, **self.variables(tracker))
        return []


class ActionAskPatientName(ActionAskForDetail):
    slot = NAME

    def response(self, tracker: Tracker, said: List[Text]) -> Text:
        # The start line has just said that "stop" ends it.
        return "utter_ask_patient_name_plain" if any(r in START_RESPONSES for r in said) else "utter_ask_patient_name"


class ActionAskCallbackPhone(ActionAskForDetail):
    slot = PHONE


class ActionAskCallbackTime(ActionAskForDetail):
    slot = TIME


class ActionAskHandoffReason(ActionAskForDetail):
    slot = REASON


class ActionAskHandoffConsent(ActionAskForDetail):
    """The summary of what will be sent, and the patient's okay for it."""

    slot = CONSENT

    def variables(self, tracker: Tracker) -> Dict[Text, Any]:
        phone = normalise_phone(tracker.get_slot(PHONE))
        return {"phone": display_phone(phone) if phone else ""}

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if WHICH_DETAIL in replies_this_turn(tracker.events):
            return []  # the patient was just asked which part to change
        return super().run(dispatcher, tracker, domain)


class ActionExplainDetail(Action):
    """Why the form needs the detail it asked for ("what's that for?"); the form then asks again."""

    def name(self) -> Text:
        return "action_explain_detail"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        requested = tracker.get_slot("requested_slot")
        response = f"utter_why_{requested}" if requested in FORM_SLOTS else "utter_why_handoff"
        dispatcher.utter_message(response=response)
        return []
