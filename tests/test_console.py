"""The nurse console, through Flask's test client and as a real waitress server."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest

from clinic.console import auth, create_app
from tests.console_server import (
    STAFF_PASSWORD,
    console_command,
    console_env,
    create_staff,
    create_token,
    running_console,
)
from tests.handoff_samples import PATIENT_NAMES, SCRIPT_PROBE, fresh_store, sample_handoff

PASSWORD = STAFF_PASSWORD
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _fresh_throttle():
    auth.reset_throttle()
    yield
    auth.reset_throttle()


@pytest.fixture
def store(tmp_path):
    store = fresh_store(f"sqlite:///{tmp_path / 'handoffs.db'}")
    store.create_user("nurse.ann", PASSWORD)
    store.create_user("nurse.bob", PASSWORD)
    yield store
    store.dispose()


@pytest.fixture
def app(store):
    return create_app(store)


def csrf_of(response) -> str:
    return CSRF_FIELD.search(response.get_data(as_text=True)).group(1)


def sign_in(client, user="nurse.ann", password=PASSWORD, next_path="/"):
    form = client.get("/login")
    return client.post(
        "/login", data={"username": user, "password": password, "csrf_token": csrf_of(form), "next": next_path}
    )


@pytest.fixture
def ann(app):
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


def page_csrf(client, path="/"):
    return csrf_of(client.get(path))


# ---- sign-in everywhere ----


def test_nothing_is_served_without_signing_in(app, store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    client = app.test_client()
    for path in ["/", "/resolved", "/audit", f"/handoffs/{reference}", "/handoffs/TPI-ZZZZZ"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        assert PATIENT_NAMES[0].encode() not in response.data
    for path in [f"/handoffs/{reference}/claim", f"/handoffs/{reference}/resolve"]:
        assert client.post(path, data={"outcome": "other"}).status_code == 302
    for method, path in [
        ("GET", "/api/handoffs"),
        ("GET", f"/api/handoffs/{reference}"),
        ("POST", f"/api/handoffs/{reference}/claim"),
        ("POST", f"/api/handoffs/{reference}/resolve"),
        ("PATCH", f"/api/handoffs/{reference}"),
    ]:
        response = client.open(path, method=method, json={"status": "claimed"})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert store.get_handoff(reference)["status"] == "new"


def test_wrong_password_is_refused_and_audited(app, store):
    client = app.test_client()
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert b"don&#39;t match" in response.data
    assert client.get("/").status_code == 302
    assert store.audit_log()[0]["action"] == "sign_in_failed"
    assert store.audit_log()[0]["detail"] == "user=nurse.ann"
    assert sign_in(client, user="MyS3cretPassw0rd!").status_code == 401
    assert store.audit_log()[0]["detail"] == "unknown user"


def test_sign_in_sets_a_safe_cookie_and_returns_to_the_page_asked_for(app, store):
    client = app.test_client()
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    response = sign_in(client, next_path=f"/handoffs/{reference}")
    assert response.headers["Location"] == f"/handoffs/{reference}"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age" in cookie
    assert client.get(f"/handoffs/{reference}").status_code == 200
    assert store.audit_log()[0]["action"] == "signed_in"


def test_sign_in_never_redirects_off_site(app):
    client = app.test_client()
    response = sign_in(client, next_path="https://evil.example/")
    assert response.headers["Location"] == "/"
    assert sign_in(app.test_client(), next_path="//evil.example").headers["Location"] == "/"


def test_sign_in_form_needs_its_csrf_token(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "nurse.ann", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_a_second_sign_in_page_load_keeps_the_first_form_valid(app):
    # Browsers fetch /favicon.ico and open tabs: neither may invalidate the form on screen.
    client = app.test_client()
    token = csrf_of(client.get("/login"))
    assert client.get("/favicon.ico").status_code == 204
    client.get("/login?next=/audit")
    response = client.post("/login", data={"username": "nurse.ann", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_repeated_failures_are_throttled(app):
    client = app.test_client()
    for _ in range(auth.MAX_FAILURES):
        assert sign_in(client, password="guess guess guess").status_code == 401
    assert sign_in(client).status_code == 429


def test_sessions_expire(store):
    app = create_app(store, session_idle=timedelta(seconds=1))
    client = app.test_client()
    sign_in(client)
    assert client.get("/").status_code == 200
    time.sleep(1.3)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_out_ends_the_session_for_good(app):
    client = app.test_client()
    sign_in(client)
    cookie = client.get_cookie(auth.SESSION_COOKIE).value
    assert client.post("/logout", data={"csrf_token": page_csrf(client)}).status_code == 302
    replay = app.test_client()
    replay.set_cookie(auth.SESSION_COOKIE, cookie)
    assert replay.get("/").status_code == 302


# ---- the queue and the detail page ----


def test_queue_is_ordered_by_urgency_then_age_and_urgent_rows_stand_out(ann, store):
    made = []
    for urgency in ["routine", "urgent", "routine", "emergency", "urgent"]:
        made.append((urgency, store.create_handoff(sample_handoff(urgency=urgency))[0]["reference"]))
        time.sleep(0.01)
    html = ann.get("/").get_data(as_text=True)
    order = re.findall(r'data-reference="(TPI-\w+)"', html)
    expected = [ref for u in ("emergency", "urgent", "routine") for (urgency, ref) in made if urgency == u]
    assert order == expected
    rows = re.findall(r"<tr class=\"([^\"]+)\" data-reference=\"(TPI-\w+)\">(.*?)</tr>", html, re.S)
    for classes, _, row in rows:
        if "urgency-routine" in classes:
            assert "⚠" not in row and "Routine" in row
        else:
            # Not by colour alone: a word and a symbol.
            assert "flagged" in classes and "⚠" in row and re.search(r"URGENT|EMERGENCY", row)
        assert "just now" in row or " min" in row
    assert "(5)" in html


def test_detail_shows_answers_red_flags_topics_and_transcript(ann, store):
    new = sample_handoff(
        2,
        urgency="urgent",
        kind="urgent",
        topics=["aftercare", "risks"],
        red_flags=[{"severity": "urgent", "phrase": "hot and swollen", "at": "2025-01-06T15:00:00+00:00"}],
    )
    reference = store.create_handoff(new)[0]["reference"]
    html = ann.get(f"/handoffs/{reference}").get_data(as_text=True)
    for expected in [
        new.patient_name,
        new.callback_phone,
        new.callback_time,
        new.reason,
        "aftercare, risks",
        "hot and swollen",
        "Urgent symptom",
        "i want to talk to a nurse",
        "I can ask the nurse line to call you back.",
        "assistant created",
    ]:
        assert expected in html, expected
    assert html.index("i want to talk to a nurse") < html.index("I can ask the nurse line")


def test_claim_and_resolve_through_the_pages_with_an_audit_trail(ann, app, store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    token = page_csrf(ann, f"/handoffs/{reference}")
    response = ann.post(f"/handoffs/{reference}/claim", data={"csrf_token": token})
    assert response.status_code == 302 and "done=claimed" in response.headers["Location"]
    assert store.get_handoff(reference)["claimed_by"] == "nurse.ann"
    bob = app.test_client()
    sign_in(bob, "nurse.bob")
    clash = bob.post(f"/handoffs/{reference}/claim", data={"csrf_token": page_csrf(bob)})
    assert clash.status_code == 409 and b"Not claimed" in clash.data
    missing_outcome = ann.post(f"/handoffs/{reference}/resolve", data={"csrf_token": token, "outcome": ""})
    assert missing_outcome.status_code == 409 and b"choose an outcome" in missing_outcome.data
    ann.post(
        f"/handoffs/{reference}/resolve", data={"csrf_token": token, "outcome": "called_back", "notes": "spoke, ok"}
    )
    handoff = store.get_handoff(reference)
    assert handoff["status"] == "resolved" and handoff["outcome"] == "called_back" and handoff["notes"] == "spoke, ok"
    assert reference not in ann.get("/").get_data(as_text=True)
    assert reference in ann.get("/resolved").get_data(as_text=True)
    audit = ann.get("/audit").get_data(as_text=True)
    assert re.search(r"nurse\.ann</td><td>resolved", audit) and re.search(r"nurse\.ann</td><td>claimed", audit)
    assert "spoke, ok" not in audit


def test_posts_without_the_csrf_token_are_rejected(ann, store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    assert ann.post(f"/handoffs/{reference}/claim").status_code == 403
    assert ann.post(f"/handoffs/{reference}/claim", data={"csrf_token": "x" * 43}).status_code == 403
    assert ann.post(f"/handoffs/{reference}/resolve", data={"outcome": "other"}).status_code == 403
    assert ann.post("/api/handoffs/" + reference + "/claim").status_code == 403
    assert store.get_handoff(reference)["status"] == "new"


def test_everything_a_patient_typed_is_escaped(ann, store):
    new = sample_handoff(
        0,
        reason=SCRIPT_PROBE,
        callback_time=SCRIPT_PROBE,
        patient_name="Ann <b>Bold</b>",
        transcript=[{"who": "patient", "text": SCRIPT_PROBE, "at": "2025-01-06T15:00:00+00:00"}],
        red_flags=[{"severity": "urgent", "phrase": SCRIPT_PROBE, "at": None}],
    )
    reference = store.create_handoff(new)[0]["reference"]
    for path in ["/", f"/handoffs/{reference}"]:
        html = ann.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<b>Bold" not in html
        assert "&lt;script&gt;" in html
    api = ann.get(f"/api/handoffs/{reference}")
    assert api.headers["Content-Type"] == "application/json"


def test_security_headers_on_every_response(app, ann):
    for client, path in [
        (app.test_client(), "/login"),
        (ann, "/"),
        (ann, "/handoffs/TPI-ZZZZZ"),
        (ann, "/api/handoffs"),
    ]:
        response = client.get(path)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


# ---- the JSON API ----


def test_api_with_a_bearer_token(app, store):
    token = store.create_token("pager")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    urgent = store.create_handoff(sample_handoff(1, urgency="urgent"))[0]["reference"]
    routine = store.create_handoff(sample_handoff(0))[0]["reference"]
    listed = client.get("/api/handoffs", headers=headers).json["handoffs"]
    assert [h["reference"] for h in listed] == [urgent, routine]
    assert "transcript" not in listed[0] and listed[0]["age_seconds"] >= 0
    detail = client.get(f"/api/handoffs/{routine}", headers=headers).json
    assert detail["patient_name"] == PATIENT_NAMES[0] and detail["transcript"][0]["who"] == "patient"
    assert detail["history"][0]["action"] == "created" and detail["created_at"].endswith("+00:00")
    claimed = client.post(f"/api/handoffs/{routine}/claim", headers=headers)
    assert claimed.status_code == 200 and claimed.json["claimed_by"] == "token:pager"
    assert client.patch(f"/api/handoffs/{routine}", headers=headers, json={"status": "resolved"}).status_code == 400
    done = client.patch(
        f"/api/handoffs/{routine}",
        headers=headers,
        json={"status": "resolved", "outcome": "scheduled", "notes": "booked"},
    )
    assert done.status_code == 200 and done.json["status"] == "resolved"
    assert (
        client.post(f"/api/handoffs/{routine}/resolve", headers=headers, json={"outcome": "other"}).status_code == 409
    )
    assert client.get("/api/handoffs/TPI-ZZZZZ", headers=headers).status_code == 404
    assert client.get("/api/handoffs?status=bogus", headers=headers).status_code == 400
    assert [h["reference"] for h in client.get("/api/handoffs?status=resolved", headers=headers).json["handoffs"]] == [
        routine
    ]
    assert client.get("/api/handoffs", headers={"Authorization": "Bearer tpi_wrong"}).status_code == 401
    # Tokens are for the API only, not a way into the pages.
    assert client.get("/", headers=headers).status_code == 302
    store.revoke_token("pager")
    assert client.get("/api/handoffs", headers=headers).status_code == 401


def test_api_with_a_session_needs_the_csrf_header_to_change_things(ann, store):
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    assert ann.get("/api/handoffs").status_code == 200
    assert ann.post(f"/api/handoffs/{reference}/claim").status_code == 403
    response = ann.post(f"/api/handoffs/{reference}/claim", headers={"X-CSRF-Token": page_csrf(ann)})
    assert response.status_code == 200 and response.json["claimed_by"] == "nurse.ann"


# ---- a real waitress server, and the commands ----


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'handoffs.db'}"
    env = console_env(url)
    create_staff(env, "nurse.cli")
    short = console_command(env, "create-user", "nurse.short", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 12" in short.stderr
    token = create_token(env, "tools")
    with running_console(env) as base:
        store = fresh_store(url)
        yield {"base": base, "token": token, "store": store, "env": env}
        store.dispose()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(opener, url, data=None, headers=None, method=None):
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_served_console_needs_sign_in_and_works_end_to_end(served):
    base, store = served["base"], served["store"]
    reference = store.create_handoff(sample_handoff(3, reason=SCRIPT_PROBE))[0]["reference"]
    anonymous = urllib.request.build_opener(NoRedirect)
    status, headers, _ = fetch(anonymous, base + "/")
    assert status == 302 and headers["Location"].endswith("/login?next=/")
    assert fetch(anonymous, base + "/api/handoffs")[0] == 401
    assert fetch(anonymous, f"{base}/api/handoffs/{reference}")[0] == 401
    status, headers, body = fetch(anonymous, base + "/login")
    assert status == 200 and "Server" not in headers or headers.get("Server", "") == ""

    jar = http.cookiejar.CookieJar()
    staff = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    _, _, login = fetch(staff, base + "/login")
    status, headers, _ = fetch(
        staff,
        base + "/login",
        {"username": "nurse.cli", "password": PASSWORD, "csrf_token": CSRF_FIELD.search(login).group(1), "next": "/"},
    )
    assert status == 302
    status, _, page = fetch(staff, f"{base}/handoffs/{reference}")
    assert status == 200 and "&lt;script&gt;" in page and "<script>" not in page
    assert fetch(staff, f"{base}/handoffs/{reference}/claim", {"csrf_token": "forged"})[0] == 403
    token = CSRF_FIELD.search(page).group(1)
    assert fetch(staff, f"{base}/handoffs/{reference}/claim", {"csrf_token": token})[0] == 302
    assert (
        fetch(
            staff,
            f"{base}/handoffs/{reference}/resolve",
            {"csrf_token": token, "outcome": "called_back", "notes": "done"},
        )[0]
        == 302
    )
    assert store.get_handoff(reference)["resolved_by"] == "nurse.cli"

    status, _, body = fetch(
        anonymous, f"{base}/api/handoffs?status=all", headers={"Authorization": f"Bearer {served['token']}"}
    )
    assert status == 200 and reference in [h["reference"] for h in json.loads(body)["handoffs"]]


def test_purge_command_deletes_only_old_handoffs(served):
    store = served["store"]
    reference = store.create_handoff(sample_handoff())[0]["reference"]
    kept = console_command(served["env"], "purge")
    assert kept.returncode == 0 and store.get_handoff(reference) is not None
    time.sleep(0.01)
    gone = console_command(served["env"], "purge", "--days", "0")
    assert gone.returncode == 0 and "Deleted" in gone.stdout
    assert store.get_handoff(reference) is None
