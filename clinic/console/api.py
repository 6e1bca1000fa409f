"""The console's JSON API, for tools and scripts: the same handoffs and actions as the pages.

GET  /api/handoffs?status=open|new|claimed|resolved|all[&language=en|es]
GET  /api/handoffs/<reference>
POST /api/handoffs/<reference>/claim
POST /api/handoffs/<reference>/resolve   {"outcome": ..., "notes": ...}
PATCH /api/handoffs/<reference>          {"status": "claimed"} or {"status": "resolved", "outcome": ..., "notes": ...}
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from clinic.console.formatting import handoff_json, iso_utc
from clinic.console.views import REFERENCE
from clinic.handoff.store import LANGUAGES, OPEN_STATUSES, OUTCOMES, STATUSES, Conflict, NotFound

blueprint = Blueprint("api", __name__, url_prefix="/api")
STATUS_FILTERS = {"open": OPEN_STATUSES, "all": STATUSES, **{status: (status,) for status in STATUSES}}


def _store():
    return current_app.config["STORE"]


def _error(status: int, message: str):
    return jsonify(error=message), status


@blueprint.route("/handoffs")
def list_handoffs():
    statuses = STATUS_FILTERS.get(request.args.get("status", "open"))
    if statuses is None:
        return _error(400, f"status must be one of {', '.join(STATUS_FILTERS)}")
    language = request.args.get("language") or None
    if language is not None and language not in LANGUAGES:
        return _error(400, f"language must be one of {', '.join(LANGUAGES)}")
    handoffs = _store().list_handoffs(statuses, language=language)
    return jsonify(handoffs=[handoff_json(h, full=False) for h in handoffs])


def _get(reference: str):
    return _store().get_handoff(reference) if REFERENCE.match(reference) else None


@blueprint.route("/handoffs/<reference>")
def get_handoff(reference):
    handoff = _get(reference)
    if handoff is None:
        return _error(404, "no such handoff")
    data = handoff_json(handoff)
    data["history"] = [dict(entry, at=iso_utc(entry["at"])) for entry in _store().audit_log(reference)]
    return jsonify(data)


def _change(reference: str, status: str, body: dict):
    if _get(reference) is None:
        return _error(404, "no such handoff")
    try:
        if status == "claimed":
            handoff = _store().claim(reference, g.actor)
        elif status == "resolved":
            outcome = body.get("outcome")
            if outcome not in OUTCOMES:
                return _error(400, f"outcome must be one of {', '.join(OUTCOMES)}")
            notes = body.get("notes") or ""
            if not isinstance(notes, str):
                return _error(400, "notes must be text")
            handoff = _store().resolve(reference, g.actor, outcome, notes)
        else:
            return _error(400, "status must be claimed or resolved")
    except ValueError as error:
        return _error(400, str(error))
    except NotFound:
        return _error(404, "no such handoff")
    except Conflict as error:
        return _error(409, str(error))
    return jsonify(handoff_json(handoff))


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@blueprint.route("/handoffs/<reference>/claim", methods=["POST"])
def claim(reference):
    return _change(reference, "claimed", {})


@blueprint.route("/handoffs/<reference>/resolve", methods=["POST"])
def resolve(reference):
    return _change(reference, "resolved", _body())


@blueprint.route("/handoffs/<reference>", methods=["PATCH"])
def patch(reference):
    body = _body()
    return _change(reference, str(body.get("status", "")), body)
