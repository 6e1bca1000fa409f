"""The console's pages: the queue, a handoff's detail with claim and resolve, and the audit log."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from clinic.handoff.store import LANGUAGES, OPEN_STATUSES, Conflict, NotFound

blueprint = Blueprint("views", __name__)
REFERENCE = re.compile(r"^TPI-[0-9A-Z]{5}$")
DONE_MESSAGES = {"claimed": "You have claimed this handoff.", "resolved": "Handoff resolved."}


def _store():
    return current_app.config["STORE"]


def _handoff_or_404(reference: str):
    handoff = _store().get_handoff(reference) if REFERENCE.match(reference) else None
    if handoff is None:
        abort(404)
    return handoff


def _language_filter():
    """The queue's language filter (?language=es), so the nurse line can call with an interpreter."""
    language = request.args.get("language", "")
    return language if language in LANGUAGES else None


@blueprint.route("/")
def queue():
    language = _language_filter()
    return render_template(
        "queue.html", handoffs=_store().list_handoffs(OPEN_STATUSES, language=language), view="open", language=language
    )


@blueprint.route("/resolved")
def resolved():
    language = _language_filter()
    return render_template(
        "queue.html",
        handoffs=_store().list_handoffs(("resolved",), limit=100, language=language),
        view="resolved",
        language=language,
    )


@blueprint.route("/handoffs/<reference>")
def detail(reference):
    handoff = _handoff_or_404(reference)
    return render_template(
        "detail.html",
        handoff=handoff,
        history=_store().audit_log(reference),
        done=DONE_MESSAGES.get(request.args.get("done", "")),
        error=None,
    )


def _conflict(reference, message):
    handoff = _handoff_or_404(reference)
    return render_template(
        "detail.html", handoff=handoff, history=_store().audit_log(reference), done=None, error=message
    ), 409


@blueprint.route("/handoffs/<reference>/claim", methods=["POST"])
def claim(reference):
    _handoff_or_404(reference)
    try:
        _store().claim(reference, g.actor)
    except Conflict as error:
        return _conflict(reference, f"Not claimed: {error}.")
    return redirect(url_for("views.detail", reference=reference, done="claimed"))


@blueprint.route("/handoffs/<reference>/resolve", methods=["POST"])
def resolve(reference):
    _handoff_or_404(reference)
    outcome = request.form.get("outcome", "")
    try:
        _store().resolve(reference, g.actor, outcome, request.form.get("notes", ""))
    except ValueError as error:
        return _conflict(reference, f"Not resolved: {'choose an outcome' if not outcome else error}.")
    except (Conflict, NotFound) as error:
        return _conflict(reference, f"Not resolved: {error}.")
    return redirect(url_for("views.detail", reference=reference, done="resolved"))


@blueprint.route("/audit")
def audit():
    return render_template("audit.html", entries=_store().audit_log(limit=500))
