"""The nurse console: the web app where nurse-line staff see, claim and resolve handoffs.

Everything but the sign-in page and its stylesheet needs a signed-in member of staff (or, for the
JSON API, a bearer token). Run it with `python -m clinic.console --port 8080` (waitress).

May import: ``clinic.handoff``, ``clinic.settings``, ``clinic.topics``, ``clinic.severity``,
``clinic.responses``; never ``clinic.nlu`` or ``clinic.red_flags`` (the console never loads TensorFlow).
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Optional

from flask import Flask, g, jsonify, render_template, request

from clinic.console import analytics, api, auth, review, views
from clinic.console.formatting import register_filters
from clinic.handoff.store import HandoffStore, StoreUnavailable, get_store
from clinic.settings import environment

access_log = logging.getLogger("clinic.console.access")
logger = logging.getLogger("clinic.console")

SECURITY_HEADERS = {
    # The console runs no script, but on the analytics page (which sets its own policy: its script
    # and Chart.js, from this console); styles come from its own stylesheet only.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Patient details must not linger in browser or proxy caches.
    "Cache-Control": "no-store",
}


def create_app(
    store: Optional[HandoffStore] = None,
    *,
    session_idle: Optional[timedelta] = None,
    session_max: Optional[timedelta] = None,
    secure_cookies: Optional[bool] = None,
) -> Flask:
    app = Flask(__name__)
    env = environment()
    app.config.update(
        STORE=store or get_store(),
        SESSION_IDLE=session_idle or timedelta(minutes=env.console_session_idle_minutes),
        SESSION_MAX=session_max or timedelta(hours=env.console_session_max_hours),
        SECURE_COOKIES=secure_cookies if secure_cookies is not None else env.console_secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    register_filters(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(views.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(review.blueprint)
    app.register_blueprint(analytics.blueprint)
    app.before_request(auth.identify)

    @app.after_request
    def _headers_and_access_log(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # The path only: query strings and bodies are never logged.
        access_log.info("%s %s %s %s", request.method, request.path, response.status_code, g.get("actor") or "-")
        return response

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(error):
        logger.error("database unavailable on %s %s (%s)", request.method, request.path, error)
        return _error_page(
            503, "The handoff database is not answering. Please try again shortly, and use the phone queue meanwhile."
        )

    @app.errorhandler(404)
    def _not_found(_error):
        return _error_page(404, "There is no such page, handoff or review group.")

    @app.errorhandler(405)
    def _not_allowed(_error):
        return _error_page(405, "That action is not allowed here.")

    @app.errorhandler(413)
    def _too_large(_error):
        return _error_page(413, "That was too much text to send at once.")

    @app.errorhandler(Exception)
    def _unexpected(error):
        if hasattr(error, "code") and hasattr(error, "description"):
            return _error_page(error.code, error.description)
        # Type and stack only: an exception's message can quote the data it choked on.
        logger.error(
            "unhandled %s on %s %s\n%s",
            type(error).__name__,
            request.method,
            request.path,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return _error_page(500, "Something went wrong on our side. Nothing was changed.")

    return app


def _error_page(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status
