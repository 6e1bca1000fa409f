"""The console's review and analytics pages through Flask's test client: who may see them, what they
show, the reviewers' decisions, and that the analytics page carries no patient text."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from clinic.console import auth, create_app
from clinic.handoff.review_groups import Vectoriser, training_examples
from clinic.handoff.review_store import ReviewStore
from tests.console_server import STAFF_PASSWORD, console_command, console_env
from tests.handoff_samples import clinic_today, fresh_store
from tests.test_console import csrf_of, sign_in
from tests.test_review_queue import _queue

DISTINCT = "zebra-striped parking garage question"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    auth.reset_throttle()
    yield
    auth.reset_throttle()


@pytest.fixture(scope="module")
def vectoriser():
    return Vectoriser(training_examples())


@pytest.fixture
def store(tmp_path):
    store = fresh_store(f"sqlite:///{tmp_path / 'handoffs.db'}")
    store.create_user("nurse.ann", STAFF_PASSWORD)
    store.create_user("rev.rita", STAFF_PASSWORD)
    store.grant_role("rev.rita", "reviewer")
    yield store
    store.dispose()


@pytest.fixture
def review(store, vectoriser):
    review = ReviewStore(store)
    _queue(
        review,
        vectoriser,
        [f"is the {DISTINCT} free", "is there parking at the clinic", "do you have parking", "does insurance cover it"],
    )
    review.add_counts(Counter({(clinic_today(), "messages", ""): 7, (clinic_today(), "outcome", "deflected"): 4}))
    return review


def client_for(store, user):
    client = create_app(store).test_client()
    assert sign_in(client, user=user).status_code == 302
    return client


def test_the_review_pages_are_for_reviewers_only(store, review):
    nurse = client_for(store, "nurse.ann")
    assert b'href="/review"' not in nurse.get("/").data
    for path in ["/review", "/review/new-answers", "/review/groups/1"]:
        response = nurse.get(path)
        assert response.status_code == 403 and DISTINCT.encode() not in response.data, path
    assert (
        nurse.post(
            "/review/groups/1/decide", data={"csrf_token": csrf_of(nurse.get("/")), "decision": "risks"}
        ).status_code
        == 403
    )
    anonymous = create_app(store).test_client()
    assert anonymous.get("/review").status_code == 302
    rita = client_for(store, "rev.rita")
    assert b'href="/review"' in rita.get("/").data


def test_a_reviewer_sees_groups_largest_first_and_decides_one(store, review):
    rita = client_for(store, "rev.rita")
    page = rita.get("/review").get_data(as_text=True)
    assert page.index(DISTINCT) < page.index("does insurance cover it")  # the group of 3 comes first
    assert "3 questions" in page and "from 3 patients" in page
    group_id = review.open_groups()[0][0]["id"]
    # No CSRF token, no decision.
    assert rita.post(f"/review/groups/{group_id}/decide", data={"decision": "out_of_scope"}).status_code == 403
    response = rita.post(
        f"/review/groups/{group_id}/decide",
        data={"csrf_token": csrf_of(rita.get("/review")), "decision": "out_of_scope"},
    )
    assert response.status_code == 302 and "done=decided" in response.headers["Location"]
    assert review.counts_by_status() == {"open": 1, "out_of_scope": 3}
    assert store.audit_log(limit=1)[0]["actor"] == "rev.rita"
    assert "Saved" in rita.get(response.headers["Location"]).get_data(as_text=True)


def test_a_reviewer_decides_single_questions_of_a_group(store, review):
    rita = client_for(store, "rev.rita")
    group = review.group(review.open_groups()[0][0]["id"])
    page = rita.get(f"/review/groups/{group['id']}").get_data(as_text=True)
    assert DISTINCT in page and page.count('type="checkbox"') == 3
    chosen = [group["items"][0]["id"], group["items"][1]["id"]]
    response = rita.post(
        "/review/items/decide",
        data={
            "csrf_token": csrf_of(rita.get("/review")),
            "decision": "needs_answer",
            "group": group["id"],
            "item": chosen,
        },
    )
    assert response.status_code == 302
    assert sorted(i["id"] for g in review.needs_answer() for i in g["items"]) == sorted(chosen)
    assert "Questions that need a new answer" in rita.get("/review/new-answers").get_data(as_text=True)
    assert (
        rita.post(
            "/review/items/decide",
            data={"csrf_token": csrf_of(rita.get("/review")), "decision": "bogus", "item": chosen},
        ).status_code
        == 400
    )


def test_the_analytics_page_shows_counts_not_patient_text(store, review):
    nurse = client_for(store, "nurse.ann")
    response = nurse.get("/analytics")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "vendor/chart.umd.min.js" in page and "<caption>Conversations and messages per day</caption>" in page
    assert page.count("<table") == 7
    assert DISTINCT not in page and "parking" not in page
    csv = nurse.get("/analytics.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    assert f"activity,{clinic_today().isoformat()},Patient messages,7" in csv.get_data(as_text=True)
    assert DISTINCT not in csv.get_data(as_text=True)
    ranged = nurse.get("/analytics?from=2026-01-01&to=2026-01-07").get_data(as_text=True)
    assert "2026-01-07" in ranged and "2026-01-08" not in ranged
    assert nurse.get("/analytics?from=yesterday").status_code == 400
    # Every other page keeps the console's no-script policy.
    assert "script-src" not in nurse.get("/").headers["Content-Security-Policy"]


def test_the_analytics_api_answers_a_bearer_token(tmp_path, store, review):
    token = store.create_token("dashboard")
    client = create_app(store).test_client()
    response = client.get("/api/analytics", headers={"Authorization": f"Bearer {token}"})
    data = json.loads(response.data)
    assert response.status_code == 200 and {c["key"] for c in data["charts"]} >= {"activity", "outcomes", "timing"}
    assert DISTINCT not in response.get_data(as_text=True)
    # A token has no roles: the review queue is not for it.
    assert client.get("/review", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_roles_are_granted_and_revoked_from_the_command_line(tmp_path):
    env = console_env(f"sqlite:///{tmp_path / 'roles.db'}")
    created = console_command(
        env, "create-user", "rev.ray", "--password-stdin", "--role", "reviewer", stdin=STAFF_PASSWORD + "\n"
    )
    assert created.returncode == 0 and "with the role reviewer" in created.stdout
    assert "no longer has" in console_command(env, "revoke-role", "rev.ray", "reviewer").stdout
    assert "now has" in console_command(env, "grant-role", "rev.ray", "reviewer").stdout
    assert console_command(env, "grant-role", "nobody", "reviewer").returncode != 0
    assert console_command(env, "grant-role", "rev.ray", "admin").returncode != 0


def test_the_console_serves_the_chart_js_of_package_json():
    """The committed copy (make console-assets) is the npm registry's file of the pinned version."""
    from tests.conftest import ROOT

    vendored = ROOT / "clinic" / "console" / "static" / "vendor" / "chart.umd.min.js"
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["chart.js"]
    assert f"Chart.js v{pinned}" in vendored.read_text()[:200]
    installed = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    if installed.exists():
        assert installed.read_bytes() == vendored.read_bytes()
