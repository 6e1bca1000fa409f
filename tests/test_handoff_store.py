"""The handoff database on SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from datetime import timedelta

import pytest

from clinic.handoff.store import (
    Conflict,
    HandoffStore,
    NotFound,
    StoreUnavailable,
    utcnow,
)
from tests.handoff_samples import PATIENT_NAMES, sample_handoff, store  # noqa: F401  (store is a fixture)


def test_a_handoff_is_stored_with_everything_the_nurse_needs(store):
    new = sample_handoff(
        0,
        kind="didnt_help",
        urgency="urgent",
        red_flags=[{"severity": "urgent", "phrase": "hot and swollen", "at": None}],
    )
    handoff, created = store.create_handoff(new)
    assert created
    assert re.fullmatch(r"TPI-[2-9A-HJ-NP-Z]{5}", handoff["reference"])
    again = store.get_handoff(handoff["reference"])
    assert again["status"] == "new"
    assert again["patient_name"] == new.patient_name
    assert again["callback_phone"] == new.callback_phone
    assert again["reason"] == new.reason
    assert again["consent"] is True
    assert again["kind"] == "didnt_help" and again["urgency"] == "urgent"
    assert again["topics"] == ["not_helping"]
    assert again["red_flags"][0]["phrase"] == "hot and swollen"
    assert [line["who"] for line in again["transcript"]] == ["patient", "assistant"]
    assert [entry["action"] for entry in store.audit_log(handoff["reference"])] == ["created"]


def test_unknown_kind_or_urgency_is_refused(store):
    with pytest.raises(ValueError):
        store.create_handoff(sample_handoff(kind="gossip"))
    with pytest.raises(ValueError):
        store.create_handoff(sample_handoff(urgency="meh"))
    assert store.count_handoffs() == 0


def test_the_same_submission_twice_makes_one_record(store):
    first, created_first = store.create_handoff(sample_handoff(0, idempotency_key="k1"))
    second, created_second = store.create_handoff(sample_handoff(0, idempotency_key="k1"))
    assert created_first and not created_second
    assert first["reference"] == second["reference"]
    assert store.count_handoffs() == 1


def test_racing_submissions_of_one_conversation_make_one_record(store):
    results, errors = [], []

    def submit():
        try:
            results.append(store.create_handoff(sample_handoff(1, idempotency_key="same-conversation")))
        except Exception as error:  # the assertion below shows what went wrong
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.count_handoffs() == 1
    assert len({handoff["reference"] for handoff, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_concurrent_different_conversations_each_get_their_own_record(store):
    def submit(i):
        store.create_handoff(sample_handoff(i, conversation_id=f"conv-{i}"))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handoffs = store.list_handoffs()
    assert len(handoffs) == 20
    assert len({h["reference"] for h in handoffs}) == 20
    for handoff in handoffs:
        index = int(handoff["conversation_id"].split("-")[1])
        assert handoff["patient_name"] == PATIENT_NAMES[index % len(PATIENT_NAMES)]


def test_queue_is_most_urgent_first_then_oldest_first(store):
    made = {}
    for label, urgency in [
        ("old routine", "routine"),
        ("old urgent", "urgent"),
        ("new routine", "routine"),
        ("emergency", "emergency"),
        ("new urgent", "urgent"),
    ]:
        made[label] = store.create_handoff(sample_handoff(urgency=urgency))[0]["reference"]
        time.sleep(0.01)
    order = [h["reference"] for h in store.list_handoffs()]
    assert order == [made[k] for k in ("emergency", "old urgent", "new urgent", "old routine", "new routine")]


def test_claim_and_resolve_with_audit(store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    claimed = store.claim(reference, "nurse.ann")
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == "nurse.ann"
    assert store.claim(reference, "nurse.ann")["status"] == "claimed"  # claiming again is harmless
    with pytest.raises(Conflict):
        store.claim(reference, "nurse.bob")
    with pytest.raises(ValueError):
        store.resolve(reference, "nurse.ann", "made-up-outcome")
    resolved = store.resolve(reference, "nurse.ann", "called_back", "Patient doing better.")
    assert resolved["status"] == "resolved" and resolved["outcome"] == "called_back"
    assert resolved["notes"] == "Patient doing better." and resolved["resolved_by"] == "nurse.ann"
    with pytest.raises(Conflict):
        store.resolve(reference, "nurse.bob", "other")
    with pytest.raises(NotFound):
        store.claim("TPI-ZZZZZ", "nurse.ann")
    log = store.audit_log(reference)
    assert [(e["actor"], e["action"]) for e in reversed(log)] == [
        ("assistant", "created"),
        ("nurse.ann", "claimed"),
        ("nurse.ann", "resolved"),
    ]
    # The notes may hold patient details; the audit says only that there were some.
    assert "Patient doing better" not in str(log)
    assert store.list_handoffs() == []
    assert [h["reference"] for h in store.list_handoffs(("resolved",))] == [reference]


def test_only_one_of_two_racing_claims_wins(store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    outcomes = []

    def claim(who):
        try:
            store.claim(reference, who)
            outcomes.append(("won", who))
        except Conflict:
            outcomes.append(("lost", who))

    threads = [threading.Thread(target=claim, args=(f"nurse{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [who for result, who in outcomes if result == "won"]
    assert len(winners) == 1
    assert store.get_handoff(reference)["claimed_by"] == winners[0]


def test_resolving_an_unclaimed_handoff_records_who_did_it(store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    resolved = store.resolve(reference, "nurse.cy", "not_needed")
    assert resolved["claimed_by"] == "nurse.cy" and resolved["status"] == "resolved"


def test_staff_passwords_are_hashed_and_checked(store):
    store.create_user("nurse.ann", "correct horse battery")
    assert store.check_password("nurse.ann", "correct horse battery")
    assert store.check_password("nurse.ann", "wrong password here") is None
    assert store.check_password("nobody", "correct horse battery") is None
    if store.url.startswith("sqlite"):
        raw = (
            sqlite3.connect(store.url.split("///", 1)[1]).execute("select password_hash from staff_users").fetchone()[0]
        )
        assert "correct horse" not in raw and raw.startswith("scrypt:")


def test_sessions_expire_when_idle_and_end_on_sign_out(store):
    store.create_user("nurse.ann", "correct horse battery")
    user_id = store.check_password("nurse.ann", "correct horse battery")
    secret, session = store.open_session(user_id, idle=timedelta(seconds=1), maximum=timedelta(hours=1))
    assert session.username == "nurse.ann" and session.csrf_token
    assert store.touch_session(secret, timedelta(seconds=1), timedelta(hours=1)).username == "nurse.ann"
    assert store.touch_session("not-a-session", timedelta(seconds=1), timedelta(hours=1)) is None
    time.sleep(1.2)
    assert store.touch_session(secret, timedelta(seconds=1), timedelta(hours=1)) is None
    secret, _ = store.open_session(user_id, idle=timedelta(hours=1), maximum=timedelta(hours=1))
    store.close_session(secret)
    assert store.touch_session(secret, timedelta(hours=1), timedelta(hours=1)) is None


def test_sessions_end_when_the_password_changes(store):
    store.create_user("nurse.ann", "correct horse battery")
    secret, _ = store.open_session(
        store.check_password("nurse.ann", "correct horse battery"), idle=timedelta(hours=1), maximum=timedelta(hours=8)
    )
    store.set_password("nurse.ann", "a whole new passphrase")
    assert store.touch_session(secret, timedelta(hours=1), timedelta(hours=8)) is None
    assert store.check_password("nurse.ann", "a whole new passphrase")


def test_api_tokens_are_stored_hashed_and_can_be_revoked(store):
    token = store.create_token("paging-bridge")
    assert token.startswith("tpi_") and len(token) > 40
    assert store.check_token(token) == "paging-bridge"
    assert store.check_token(token + "x") is None
    assert store.check_token("Bearer nonsense") is None
    if store.url.startswith("sqlite"):
        raw = sqlite3.connect(store.url.split("///", 1)[1]).execute("select token_hash from api_tokens").fetchone()[0]
        assert token not in raw
    store.revoke_token("paging-bridge")
    assert store.check_token(token) is None


def test_outbox_notices_are_leased_once_and_kept_until_delivered(store):
    handoff, _ = store.create_handoff(sample_handoff(), notify=True)
    store.create_handoff(sample_handoff())  # not notified: no webhook configured for it
    first = store.lease_notices()
    assert [n["payload"]["reference"] for n in first] == [handoff["reference"]]
    assert set(first[0]["payload"]) == {"reference", "kind", "urgency", "created_at"}
    assert store.lease_notices() == []  # leased to the first caller
    store.mark_failed(first[0]["id"], "HTTP 503", utcnow() - timedelta(seconds=1))
    retry = store.lease_notices()
    assert [n["id"] for n in retry] == [first[0]["id"]] and retry[0]["attempts"] == 1
    store.mark_delivered(retry[0]["id"])
    assert store.lease_notices() == []
    (row,) = store.outbox()
    assert row["delivered_at"] is not None and row["attempts"] == 2


def test_purge_deletes_old_handoffs_and_keeps_recent_ones_and_the_audit(store):
    old = store.create_handoff(sample_handoff(0), notify=True)[0]["reference"]
    time.sleep(0.05)
    cutoff = utcnow()
    time.sleep(0.05)
    recent = store.create_handoff(sample_handoff(1))[0]["reference"]
    assert store.purge(cutoff) == 1
    assert store.get_handoff(old) is None
    assert store.get_handoff(recent) is not None
    assert store.outbox() == []
    assert [e["action"] for e in store.audit_log(old)] == ["created"]
    assert store.audit_log()[0]["action"] == "purged"


def test_unreachable_postgresql_raises_store_unavailable():
    store = HandoffStore("postgresql://nobody:nothing@127.0.0.1:1/handoffs")
    with pytest.raises(StoreUnavailable):
        store.create_handoff(sample_handoff())


def test_unwritable_sqlite_path_raises_store_unavailable():
    # /proc refuses new files even to root, so this holds on CI machines that run as root.
    store = HandoffStore("sqlite:////proc/tpi-no-such-dir/handoffs.db")
    with pytest.raises(StoreUnavailable):
        store.create_handoff(sample_handoff())
