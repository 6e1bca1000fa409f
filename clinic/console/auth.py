"""Who is asking: staff sign-in with server-side sessions, bearer tokens for the API, and CSRF
checks on every state-changing request made with a session cookie."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import wraps
from typing import Deque, Dict
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for

blueprint = Blueprint("auth", __name__)

SESSION_COOKIE = "tpi_console_session"
LOGIN_CSRF_COOKIE = "tpi_console_login"
PUBLIC_ENDPOINTS = {"auth.login", "auth.favicon", "static"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Sign-in throttle: this many failures for one name or address within the window blocks it for
# the rest of the window. In memory, per process: enough to slow guessing, no account lockout.
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60

_failures: Dict[str, Deque[float]] = defaultdict(deque)
_failures_lock = threading.Lock()


def _store():
    return current_app.config["STORE"]


def _throttled(*keys: str) -> bool:
    now = time.monotonic()
    with _failures_lock:
        for key in keys:
            attempts = _failures[key]
            while attempts and attempts[0] < now - FAILURE_WINDOW:
                attempts.popleft()
            if len(attempts) >= MAX_FAILURES:
                return True
    return False


def _note_failure(*keys: str) -> None:
    with _failures_lock:
        for key in keys:
            _failures[key].append(time.monotonic())


def reset_throttle() -> None:
    with _failures_lock:
        _failures.clear()


def identify():
    """Runs before every request: sets g.actor, or turns the request away."""
    g.actor = None
    g.user = None
    g.csrf_token = None
    g.roles = ()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    is_api = request.path.startswith("/api/")
    authorization = request.headers.get("Authorization", "")
    if is_api and authorization.lower().startswith("bearer "):
        name = _store().check_token(authorization[7:].strip())
        if name is None:
            return _unauthorised(is_api)
        g.actor = f"token:{name}"
        return None
    secret = request.cookies.get(SESSION_COOKIE)
    session = (
        _store().touch_session(secret, current_app.config["SESSION_IDLE"], current_app.config["SESSION_MAX"])
        if secret
        else None
    )
    if session is None:
        return _unauthorised(is_api)
    g.user = session.username
    g.actor = session.username
    g.csrf_token = session.csrf_token
    g.roles = tuple(session.roles)
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            if is_api:
                return jsonify(error="missing or wrong CSRF token (send X-CSRF-Token)"), 403
            abort(403, "This form has expired or did not come from the console. Please go back, reload and try again.")
    return None


def require_role(role: str):
    """For views only a signed-in member of staff with this role may use (API tokens have no roles)."""

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if role not in (g.get("roles") or ()):
                abort(
                    403,
                    f"This page is for staff with the {role} role. An administrator can give it: "
                    f"python -m clinic.console grant-role <name> {role}",
                )
            return view(*args, **kwargs)

        return checked

    return decorate


def _unauthorised(is_api: bool):
    if is_api:
        response = jsonify(error="sign in or send a valid bearer token")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="nurse console"'
        return response
    return redirect(url_for("auth.login", next=request.path))


def _safe_next(target: str) -> str:
    # Only a path on this console: never an open redirect to another site.
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("views.queue")
    return target


def _login_page(error: str = "", status: int = 200):
    # Reuse the browser's token: a second sign-in page load (another tab, a favicon redirect) must
    # not invalidate a form already on screen.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    response = current_app.make_response(
        (
            render_template(
                "login.html", csrf_token=token, error=error, next=_safe_next(request.values.get("next", ""))
            ),
            status,
        )
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=current_app.config["SECURE_COOKIES"],
        max_age=3600,
    )
    return response


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return _login_page()
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = request.form.get("csrf_token", "")
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(), form_token.encode()):
        return _login_page("The sign-in form expired. Please try again.", 400)
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")
    keys = (f"user:{username.lower()}", f"addr:{request.remote_addr}")
    if _throttled(*keys):
        return _login_page("Too many failed sign-ins. Please wait 15 minutes and try again.", 429)
    user_id = _store().check_password(username, password) if username and password else None
    if user_id is None:
        _note_failure(*keys)
        # An unknown name is not recorded: it is often a password typed into the wrong box.
        known = username and _store().user_exists(username)
        _store().record("anonymous", "sign_in_failed", detail=f"user={username}" if known else "unknown user")
        return _login_page("That name and password don't match an active account.", 401)
    secret, session = _store().open_session(
        user_id, current_app.config["SESSION_IDLE"], current_app.config["SESSION_MAX"]
    )
    _store().record(session.username, "signed_in")
    response = redirect(_safe_next(request.form.get("next", "")))
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SECURE_COOKIES"],
        max_age=int(current_app.config["SESSION_MAX"].total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@blueprint.route("/favicon.ico")
def favicon():
    # Browsers ask for it on every page; without this each ask would be bounced to the sign-in page.
    return "", 204


@blueprint.route("/logout", methods=["POST"])
def logout():
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        _store().close_session(secret)
        _store().record(g.actor, "signed_out")
    response = redirect(url_for("auth.login"))
    response.delete_cookie(SESSION_COOKIE)
    return response
