"""The review queue without servers: scrubbing, reading conversations back from the tracker store,
the collector, grouping, the reviewers' decisions, the export, purge and the analytics figures.
The database tests run on SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from clinic.handoff import turns as T
from clinic.handoff.analytics import report, to_csv
from clinic.handoff.collector import Collector
from clinic.handoff.review_export import evaluation_texts, export
from clinic.handoff.review_groups import Vectoriser, cluster, training_examples
from clinic.handoff.review_store import (
    Batch,
    CursorMoved,
    GroupChange,
    NewItem,
    ReviewStore,
)
from clinic.handoff.scrub import get_scrubber, replace_spans
from clinic.handoff.store import NewHandoff, utcnow
from clinic.settings import NurseLineTargets
from tests.handoff_samples import store  # noqa: F401  (a fixture: sqlite, and postgresql when set)
from tests.review_samples import RECORDED_NAME, RECORDED_PHONE, TrackerDb, recorded_events, stored_events


@pytest.fixture(scope="module")
def scrubber():
    return get_scrubber()


@pytest.fixture(scope="module")
def vectoriser():
    return Vectoriser(training_examples())


@pytest.fixture
def review(store):
    return ReviewStore(store)


@pytest.fixture
def tracker(tmp_path):
    return TrackerDb(tmp_path / "trackers.db")


def collector_for(review, tracker, scrubber, **options) -> Collector:
    return Collector(
        review, tracker.url, scrubber=scrubber, timezone="America/New_York", low_confidence_below=0.8, **options
    )


# ---- scrubbing ----


@pytest.mark.parametrize(
    "text, gone, kept",
    [
        ("call me at (312) 555-0147 about the shot", ["(312) 555-0147", "555-0147"], ["[phone]", "about the shot"]),
        ("my cell 617.555.0123 or 4155550132", ["617.555.0123", "4155550132"], ["[phone]"]),
        ("555-555-5555 is my number", ["555-555-5555"], ["is my number"]),  # not a real area code: still gone
        ("email me at marisol.q@example.com please", ["marisol.q@example.com"], ["[email]", "please"]),
        (
            "Hi, this is Marisol Quintanilla, can I drive after?",
            ["Marisol", "Quintanilla"],
            ["[name]", "can I drive after?"],
        ),
        ("my name is thaddeus okonkwo-reyes and does it hurt", ["thaddeus", "okonkwo"], ["does it hurt"]),
        ("member id 123456789 for my insurance", ["123456789"], ["[number]", "insurance"]),
        ("Can I take ibuprofen after the injection?", [], ["Can I take ibuprofen after the injection?"]),
    ],
)
def test_phone_numbers_emails_and_names_are_taken_out(scrubber, text, gone, kept):
    cleaned = scrubber.scrub(text)
    for part in gone:
        assert part.lower() not in cleaned.lower(), cleaned
    for part in kept:
        assert part in cleaned, cleaned


def test_the_name_given_to_the_form_is_taken_out_whole_and_word_by_word(scrubber):
    cleaned = scrubber.scrub(
        "hi its marisol again, quintanilla on the form, is parking free", names=["Marisol Quintanilla"]
    )
    assert "marisol" not in cleaned.lower() and "quintanilla" not in cleaned.lower()
    assert "is parking free" in cleaned


def test_overlapping_findings_merge_into_one_placeholder():
    assert replace_spans("call 312 555 0147 now", [(5, 17, "PHONE_NUMBER"), (9, 17, "PERSON")]) == "call [phone] now"


# ---- reading a conversation back ----


def test_each_patient_message_gets_what_the_assistant_did_with_it():
    conversation = T.read_conversation(stored_events(recorded_events()), 0.8)
    outcomes = [(turn.text, turn.outcome, turn.review) for turn in conversation.turns]
    assert outcomes[:6] == [
        ("hi", "chitchat", None),
        ("what is a trigger point injection", "answered", None),
        ("how much does it cost", "deflected", "deflected"),
        ("can I bring my dog to the appointment", "asked_back", "asked_back"),
        ("do you speak spanish", "deflected", "deflected"),  # the second miss: handed over
        ("my arm is numb and swollen since the shot", "red_flag", None),
    ]
    assert conversation.turns[1].topic == "what_is_tpi"
    assert conversation.turns[5].red_flag == "urgent"
    # What the patient typed into the handoff form is counted, never reviewed.
    form = [turn for turn in conversation.turns if turn.outcome == "form"]
    assert RECORDED_NAME in [turn.text for turn in form] and RECORDED_PHONE in [turn.text for turn in form]
    assert all(turn.review is None for turn in form)
    assert conversation.names == {RECORDED_NAME}
    (vote,) = conversation.feedback
    assert vote.helpful and vote.topic == "what_is_tpi" and vote.question.text == "what is a trigger point injection"


def test_an_unsure_answer_is_queued_and_a_topic_button_is_not():
    rows = recorded_events()
    answered = next(
        row for row in rows if row["type_name"] == "user" and row["data"]["text"] == "what is a trigger point injection"
    )
    conversation = T.read_conversation(stored_events(rows), low_confidence_below=0.95)
    turn = next(t for t in conversation.turns if t.event_id == answered["id"])
    assert turn.outcome == "answered" and turn.review == "low_confidence"
    button = dict(answered, data=dict(answered["data"], text="faq:what_is_tpi"))
    conversation = T.read_conversation(stored_events([button if r is answered else r for r in rows]), 0.95)
    turn = next(t for t in conversation.turns if t.event_id == answered["id"])
    assert turn.outcome == "button" and turn.topic == "what_is_tpi" and turn.review is None


# ---- the collector ----


def test_the_collector_queues_what_needs_review_without_names_or_numbers(review, tracker, scrubber):
    tracker.add("web-patient-1", recorded_events())
    collector = collector_for(review, tracker, scrubber)
    result = collector.catch_up()
    assert result.messages == 16 and result.feedback == 1
    groups, _total = review.open_groups(limit=50)
    items = [item for group in groups for item in review.group(group["id"])["items"]]
    kinds = Counter(item["kind"] for item in items)
    assert kinds == {"deflected": 3, "asked_back": 1}
    texts = " ".join(item["text"] for item in items)
    assert "how much does it cost" in texts and "where do I park?" in texts
    assert "Marisol" not in texts and "555" not in texts and "Quintanilla" not in texts
    assert all(item["guessed_topic"] for item in items)
    # Nothing again on a second pass: the cursor moved with what was written.
    assert collector.catch_up().events == 0
    days = {(metric, key): n for _day, metric, key, n in review.daily_counts(date(2020, 1, 1), date(2100, 1, 1))}
    assert days[("conversations", "")] == 1 and days[("messages", "")] == 16
    assert (
        days[("outcome", "answered")] == 1
        and days[("outcome", "deflected")] == 3
        and days[("outcome", "asked_back")] == 1
    )
    assert days[("red_flag", "urgent")] == 1 and days[("topic", "what_is_tpi")] == 1
    assert days[("feedback_yes", "what_is_tpi")] == 1
    collector.dispose()


def test_a_name_given_later_is_taken_out_of_earlier_questions(review, tracker, scrubber):
    rows = recorded_events()
    first_user = next(r for r in rows if r["type_name"] == "user")
    early = dict(
        first_user,
        id=0,
        data=dict(
            first_user["data"],
            text="marisol asking: is there parking for wheelchairs",
            parse_data=dict(first_user["data"]["parse_data"], text=""),
        ),
    )
    deflect = [
        r
        for r in rows
        if r["type_name"] in ("action", "bot")
        and (
            r["data"].get("name") == "utter_out_of_scope"
            or (r["data"].get("metadata") or {}).get("utter_action") == "utter_out_of_scope"
        )
    ][:2]
    listen = next(r for r in rows if r["type_name"] == "action" and r["data"].get("name") == "action_listen")
    tracker.add("web-patient-2", [early, *deflect, listen])
    collector = collector_for(review, tracker, scrubber)
    collector.catch_up()
    (group,) = review.open_groups()[0]
    (item,) = review.group(group["id"])["items"]
    assert "parking for wheelchairs" in item["text"]
    tracker.add("web-patient-2", rows)  # later, the same patient fills in the form with their name
    collector.catch_up()
    texts = [i["text"] for g in review.open_groups(limit=50)[0] for i in review.group(g["id"])["items"]]
    assert all("marisol" not in text.lower() for text in texts), texts
    collector.dispose()


def test_a_batch_another_collector_wrote_first_is_not_written_twice(review):
    cursor = review.cursor("tracker-x")
    item = NewItem("tracker-x:1", "k", utcnow(), "deflected", "how much is it", -1)
    group = GroupChange(-1, {"i": [1], "v": [1.0]}, 1, "how much is it", "v1")
    batch = Batch("tracker-x", cursor, 10, [item], [group], [], Counter({(date(2026, 1, 1), "messages", ""): 1}), {})
    review.commit(batch)
    with pytest.raises(CursorMoved):
        review.commit(batch)
    assert review.cursor("tracker-x") == 10
    assert review.counts_by_status() == {"open": 1}


# ---- grouping ----


def test_questions_that_mean_the_same_share_a_group(vectoriser):
    texts = [
        "does insurance cover trigger point injections",
        "is parking free at your office",
        "will my insurance pay for the shots",
        "where do I park for my appointment?",
        "hi, do you accept aetna insurance",
        "do you have a parking garage",
    ]
    groups = cluster(texts, vectoriser)
    assert groups[0] == groups[2] == groups[4]
    assert groups[1] == groups[5] != groups[0]


# ---- decisions, export, purge ----


def _queue(review, vectoriser, texts, kind="deflected", at=None):
    grouper_groups = cluster(texts, vectoriser)
    keys = {key: -(i + 1) for i, key in enumerate(dict.fromkeys(grouper_groups))}
    cursor = review.cursor("t")
    items = [
        NewItem(f"t:{cursor + i + 1}", f"conv{i}", at or utcnow(), kind, text, keys[g], "recovery", 0.4, "faq", 0.9)
        for i, (text, g) in enumerate(zip(texts, grouper_groups))
    ]
    groups = [
        GroupChange(k, {"i": [1], "v": [1.0]}, sum(1 for g in grouper_groups if keys[g] == k), texts[0], "v1")
        for k in keys.values()
    ]
    review.commit(Batch("t", cursor, cursor + len(texts), items, groups, [], Counter(), {}))


def test_a_reviewer_decides_a_group_and_it_is_in_the_audit_log(review, vectoriser, store):
    _queue(
        review,
        vectoriser,
        ["is parking free", "is there parking at the clinic", "do you have parking", "does insurance cover it"],
    )
    groups, total = review.open_groups()
    assert total == 2 and groups[0]["open"] == 3 and groups[0]["patients"] == 3
    assert len(groups[0]["examples"]) == 3 and groups[0]["kinds"] == {"deflected": 3}
    assert review.decide("rev.rita", "needs_answer", group_id=groups[0]["id"]) == 3
    assert review.decide("rev.rita", "needs_answer", group_id=groups[0]["id"]) == 0
    assert [g["id"] for g in review.open_groups()[0]] == [groups[1]["id"]]
    (needs,) = review.needs_answer()
    assert len(needs["items"]) == 3
    entry = store.audit_log(limit=1)[0]
    assert entry["actor"] == "rev.rita" and entry["action"] == "review_decided"
    assert "decision=needs_answer items=3" in entry["detail"] and "park" not in entry["detail"]
    item = review.group(groups[1]["id"])["items"][0]
    assert review.decide("rev.rita", "recovery", item_ids=[item["id"]]) == 1
    assert review.decide("rev.rita", "open", item_ids=[item["id"]]) == 1
    with pytest.raises(ValueError):
        review.decide("rev.rita", "not a topic", item_ids=[item["id"]])


def test_the_export_writes_rasa_nlu_yaml_with_who_and_when(review, vectoriser, tmp_path):
    texts = [
        "will i be ok to go running the next day [phone]",
        "can [name] do pilates the day after",
        "can i go to the gym after",
    ]  # the last is in the training data already
    _queue(review, vectoriser, texts)
    ids = [i["id"] for g in review.open_groups()[0] for i in review.group(g["id"])["items"]]
    review.decide("rev.rita", "recovery", item_ids=ids)
    report_ = export(review, tmp_path / "reviewed", actor="test")
    assert list(report_.written.values()) == [2] and report_.already_known == 1
    text = (tmp_path / "reviewed" / "recovery.yml").read_text()
    assert f"# reviewed by rev.rita on {utcnow():%Y-%m-%d} (2 examples)" in text
    data = yaml.safe_load(text)
    (entry,) = data["nlu"]
    assert entry["intent"] == "faq/recovery"
    assert "- will i be ok to go running the next day\n" in entry["examples"]
    assert "- can do pilates the day after\n" in entry["examples"]
    assert "[" not in entry["examples"]
    from rasa.shared.nlu.training_data.loading import load_data

    loaded = load_data(str(tmp_path / "reviewed" / "recovery.yml"))
    assert {m.get("intent_response_key") for m in loaded.training_examples} == {"faq/recovery"}
    # Exported once: a second export writes nothing, and the file is appended to, not rewritten.
    assert export(review, tmp_path / "reviewed").written == {}
    assert review.decide("rev.rita", "open", item_ids=ids) == 0  # exported items keep their decision


def test_evaluation_questions_never_go_into_training(review, vectoriser, tmp_path):
    held_out = evaluation_texts()
    assert "what are those hard knots in my upper back" in held_out
    _queue(review, vectoriser, ["what are those hard knots in my upper back"])
    ids = [i["id"] for g in review.open_groups()[0] for i in review.group(g["id"])["items"]]
    review.decide("rev.rita", "what_is_trigger_point", item_ids=ids)
    result = export(review, tmp_path / "reviewed")
    assert result.written == {} and result.in_evaluation == 1


def test_purge_deletes_old_review_items_and_feedback_but_keeps_the_counts(review, vectoriser):
    _queue(review, vectoriser, ["is parking free"], at=utcnow() - timedelta(days=100))
    _queue(review, vectoriser, ["does insurance cover it"])
    review.add_counts(Counter({(date(2020, 1, 1), "messages", ""): 5}))
    assert review.purge(utcnow() - timedelta(days=90)) == (1, 0)
    groups, total = review.open_groups()
    assert total == 1 and groups[0]["examples"][0]["text"] == "does insurance cover it"
    assert review.daily_counts(date(2020, 1, 1), date(2020, 1, 1)) == [(date(2020, 1, 1), "messages", "", 5)]


# ---- analytics ----


def test_the_analytics_figures_add_up(review, store):
    zone = ZoneInfo("America/New_York")
    day = date(2026, 3, 2)
    review.add_counts(
        Counter(
            {
                (day, "conversations", ""): 4,
                (day, "messages", ""): 20,
                (day, "outcome", "answered"): 6,
                (day, "outcome", "asked_back"): 2,
                (day, "outcome", "deflected"): 2,
                (day, "topic", "risks"): 5,
                (day, "topic", "onset"): 1,
                (day, "red_flag", "urgent"): 1,
                (day, "feedback_no", "risks"): 1,
                (day, "feedback_yes", "risks"): 3,
            }
        )
    )
    created = datetime(2026, 3, 2, 15, 0)
    for minutes in (10, 20, 30, 40, 100):
        handoff, _ = store.create_handoff(
            NewHandoff(
                f"k{minutes}", "c", "question", "routine", "A Patient", "+12125550147", "any", "a question", True
            )
        )
        with store.session() as session:
            from sqlalchemy import update

            from clinic.handoff.store import HandoffRow

            session.execute(
                update(HandoffRow)
                .where(HandoffRow.reference == handoff["reference"])
                .values(
                    created_at=created,
                    claimed_at=created + timedelta(minutes=minutes),
                    resolved_at=created + timedelta(minutes=2 * minutes),
                    status="resolved",
                )
            )
    result = report(review, day, day, zone, NurseLineTargets(claim_minutes=30, resolve_minutes=60))
    tables = {t.key: t for t in result.tables}
    assert tables["activity"].rows == [("2026-03-02", [4, 20])]
    assert tables["outcomes"].rows == [("2026-03-02", [60.0, 20.0, 20.0])]
    assert tables["topics"].rows[:2] == [("risks", [5]), ("onset", [1])]
    assert tables["feedback"].rows == [("risks", [3, 1])]
    assert tables["red_flags"].rows == [("2026-03-02", [0, 0, 1])]
    assert dict(tables["handoffs"].rows)["question"][-1] == 5
    assert tables["timing"].rows == [
        ("Request to claim", [30.0, 76.0, 30.0]),
        ("Request to resolution", [60.0, 152.0, 60.0]),
    ]
    assert result.totals["answered_share"] == 60.0
    assert "activity,2026-03-02,Conversations,4" in to_csv(result)


def test_the_review_queue_keeps_to_its_side_of_the_package():
    """The handoff side and the console never import the Rasa-server side, nor it them."""
    import ast

    from tests.conftest import ROOT

    def imports(path):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield node.module

    for folder, forbidden in (
        ("handoff", ("clinic.nlu", "clinic.red_flags", "clinic.server")),
        ("console", ("clinic.nlu", "clinic.red_flags", "clinic.server")),
        ("server", ("clinic.handoff", "clinic.console")),
    ):
        for path in (ROOT / "clinic" / folder).rglob("*.py"):
            bad = [name for name in imports(path) if name.startswith(forbidden)]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
