"""The review loop with the real assistant: 100 scripted conversations over the REST channel, the
collector reading Rasa's tracker store (as a process of its own, its log kept), the review page, the
export checked by `rasa data validate`, and the widget's feedback endpoint."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from clinic.console import create_app
from clinic.handoff.review_export import export
from clinic.handoff.review_store import ReviewStore
from clinic.handoff.store import HandoffStore
from tests.conftest import ARTIFACTS, ROOT, VENV_BIN, Patient
from tests.handoff_samples import PII_STRINGS
from tests.review_script import build, personal_details, run
from tests.test_console import sign_in

# Issue 16: every deflected or asked-back question lands in its question's own group. The n-grams
# alone placed 95 of 97 (insurance apart from "medicare"); with the sentence embedding all of them
# (102 of 102 through the bot; offline, scripts/review_loop.py --groups: 136 of 136 at any
# threshold from 0.22 to 0.30).
RIGHT_GROUP_FLOOR = 1.0


def tracker_url(test_env, rasa_server) -> str:
    port = urlsplit(rasa_server).port
    return f"sqlite:///{Path(test_env['CLINIC_TEST_WORKDIR']) / f'trackers-{port}.db'}"


def collect(test_env, rasa_server, database_url: str) -> str:
    """The collector as it runs beside the bot: its own process, its log in tests/artifacts/."""
    env = dict(test_env, CLINIC_DATABASE_URL=database_url)
    result = subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "clinic.handoff.collector",
            "--once",
            "--tracker-store",
            tracker_url(test_env, rasa_server),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "review_collector.log", "a") as log:
        log.write(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def key(sender: str) -> str:
    return hashlib.sha256(sender.encode()).hexdigest()


@pytest.fixture(scope="module")
def scripted(rasa_server, test_env, tmp_path_factory):
    conversations = build(100, run_id=f"review-{tmp_path_factory.getbasetemp().name}")
    run(rasa_server, conversations)
    database = f"sqlite:///{tmp_path_factory.mktemp('review') / 'clinic.db'}"
    collect(test_env, rasa_server, database)
    store = HandoffStore(database)
    store.create_user("rev.rita", "correct horse battery staple")
    store.grant_role("rev.rita", "reviewer")
    yield conversations, store
    store.dispose()


def items_by_conversation(store):
    with store.session() as session:
        rows = session.execute(
            text("SELECT id, conversation_key, kind, text, group_id FROM review_items ORDER BY id")
        ).all()
    grouped = defaultdict(list)
    for row in rows:
        grouped[row.conversation_key].append(row)
    return grouped


def test_every_deflected_question_is_on_the_review_page_in_its_group(scripted):
    conversations, store = scripted
    stored = items_by_conversation(store)
    placed = []  # (family, group id, text)
    missing = []
    for conversation in conversations:
        expected = [m for m in conversation.messages if m.family and m.deflected_or_asked_back]
        found = [row for row in stored.get(key(conversation.sender), []) if row.kind in ("deflected", "asked_back")]
        if len(found) != len(expected):
            missing.append((conversation.sender, [m.text for m in expected], [r.text for r in found]))
            continue
        placed += [(m.family, row.group_id, row.text) for m, row in zip(expected, found)]
    assert not missing, missing[:5]
    # Most of the 136 scripted questions are deflected or asked back (the rest answered or handed over).
    assert len(placed) >= 80, f"only {len(placed)} scripted questions were deflected or asked back"

    majority = {
        family: Counter(g for f, g, _ in placed if f == family).most_common(1)[0][0]
        for family in {f for f, _, _ in placed}
    }
    assert len(set(majority.values())) == len(majority), "two question families share a group"
    right = [p for p in placed if majority[p[0]] == p[1]]
    share = len(right) / len(placed)
    print(f"\n{len(right)} of {len(placed)} deflected or asked-back questions in their own group ({share:.1%})")
    assert share >= RIGHT_GROUP_FLOOR, [p for p in placed if majority[p[0]] != p[1]]

    # And the review page shows each one in its group.
    client = create_app(store).test_client()
    assert sign_in(client, user="rev.rita").status_code == 302
    pages = {}
    for family, group_id, question in placed:
        if group_id not in pages:
            pages[group_id] = client.get(f"/review/groups/{group_id}").get_data(as_text=True)
        assert _html(question) in pages[group_id], (family, question)
    queue = client.get("/review").get_data(as_text=True)
    assert all(f'data-group="{g}"' in queue for g in set(majority.values()))


def _html(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def test_no_name_or_phone_number_reaches_the_review_data_the_export_or_the_logs(
    scripted, tmp_path, test_env, rasa_server
):
    conversations, store = scripted
    details = personal_details(conversations) + [d for d in PII_STRINGS if re.search(r"\d{3}|[A-Z][a-z]+ [A-Z]", d)]
    typed = sum(1 for c in conversations for m in c.messages if m.family and (m.name or m.phone))
    assert typed >= 30, "the script types too few names and numbers into its questions to test this"
    review = ReviewStore(store)
    for group in review.open_groups(limit=500)[0]:
        review.decide("rev.rita", "out_of_scope", group_id=group["id"])
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    result = export(review, data / "nlu" / "reviewed", actor="test")
    assert result.written, result.lines()
    exported = (data / "nlu" / "reviewed" / "out_of_scope.yml").read_text()
    assert re.search(r"# reviewed by rev\.rita on \d{4}-\d{2}-\d{2} \(\d+ examples\)", exported)

    with store.session() as session:
        stored = [
            str(value)
            for table, column in (("review_items", "text"), ("review_groups", "label"), ("audit_log", "detail"))
            for (value,) in session.execute(text(f"SELECT {column} FROM {table}"))
        ]
    logs = [p.read_text(errors="replace") for p in ARTIFACTS.glob("*.log")]
    places = {"review data": "\n".join(stored), "export": exported, "logs": "\n".join(logs)}
    for place, content in places.items():
        leaks = [d for d in details if d.lower() in content.lower()]
        assert not leaks, f"{place} holds {leaks}"

    # Rasa's own validator accepts the training data with the export in it, and finds nothing to
    # say about the exported examples (the repository's own notices are tests/test_data_validate.py's).
    validated = subprocess.run(
        [str(VENV_BIN / "rasa"), "data", "validate", "--data", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**test_env, "RASA_TELEMETRY_ENABLED": "false"},
    )
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0, output[-3000:]
    examples = [
        line.strip()[2:] for line in exported.splitlines() if line.strip().startswith("- ") and "intent:" not in line
    ]
    noticed = [
        line
        for line in output.splitlines()
        if re.search(r"UserWarning|WARNING|ERROR", line)
        and (
            any(example in line for example in examples)
            or "reviewed" in line
            or "multiple different intents" in line
            or "not in the domain" in line
        )
    ]
    assert noticed == [], "\n".join(noticed)


# ---- the widget's feedback endpoint ----


def feedback(base: str, body: dict):
    request = urllib.request.Request(
        base + "/webhooks/feedback/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def answer_text(replies):
    return next(r["text"] for r in replies if "From:" in (r.get("text") or ""))


def test_feedback_is_recorded_once_and_never_disturbs_the_conversation(rasa_server, test_env, tmp_path):
    patient = Patient(rasa_server)
    answer = answer_text(patient.say("how long does the relief last?"))
    assert feedback(rasa_server, {"sender": patient.sender, "answer": answer, "helpful": False}) == (
        200,
        {"recorded": True},
    )
    assert feedback(rasa_server, {"sender": patient.sender, "answer": answer, "helpful": True})[1]["recorded"] is False
    assert feedback(rasa_server, {"sender": "nobody-" + patient.sender, "answer": answer, "helpful": True})[0] == 404
    assert (
        feedback(rasa_server, {"sender": patient.sender, "answer": "an answer never given", "helpful": True})[0] == 404
    )
    assert feedback(rasa_server, {"sender": patient.sender, "answer": answer})[0] == 400

    # In the middle of the handoff form a vote is not taken as the patient's answer.
    patient.say("/request_nurse")
    assert "What name should the nurse ask for?" in patient.text_of("/affirm")
    assert feedback(rasa_server, {"sender": patient.sender, "answer": answer, "helpful": True})[1]["recorded"] is False
    assert "phone number" in patient.text_of("Ingrid Vasquez-Holm")

    other = Patient(rasa_server)
    first = answer_text(other.say("what is a trigger point injection?"))
    other.say("/request_nurse")
    assert "What name should the nurse ask for?" in other.text_of("/affirm")
    assert feedback(rasa_server, {"sender": other.sender, "answer": first, "helpful": True}) == (
        200,
        {"recorded": True},
    )
    assert "phone number" in other.text_of("Perpetua Lindqvist")  # the form went on as if nothing happened

    database = f"sqlite:///{tmp_path / 'clinic.db'}"
    collect(test_env, rasa_server, database)
    store = HandoffStore(database)
    with store.session() as session:
        votes = session.execute(text("SELECT conversation_key, topic, helpful FROM answer_feedback")).all()
        unhelpful = session.execute(
            text("SELECT kind, text, answer_topic FROM review_items WHERE conversation_key = :k"),
            {"k": key(patient.sender)},
        ).all()
    store.dispose()
    assert (key(patient.sender), "duration", False) in [tuple(v) for v in votes]
    assert (key(other.sender), "what_is_tpi", True) in [tuple(v) for v in votes]
    assert [tuple(u) for u in unhelpful] == [("unhelpful", "how long does the relief last?", "duration")]


def test_the_collector_never_logs_what_patients_typed():
    log = (ARTIFACTS / "review_collector.log").read_text() if (ARTIFACTS / "review_collector.log").exists() else ""
    assert "Read " in log and "patient messages" in log
    assert not re.search(r"relief|parking|insurance", log, re.IGNORECASE)
