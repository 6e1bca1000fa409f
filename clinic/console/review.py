"""The review queue's pages, for staff with the reviewer role: the questions the assistant could not
answer well, grouped by meaning, largest groups first; a reviewer assigns a group or chosen
questions to a topic, marks them out of scope, or marks them "needs a new answer" (a list for the
clinic's content owners). Every decision goes into the audit log (review_store.ReviewStore.decide).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from clinic.console.auth import require_role
from clinic.handoff.review_store import (
    NEEDS_ANSWER,
    OPEN,
    OUT_OF_SCOPE,
    REVIEW_KINDS,
    ReviewStore,
    decisions,
)
from clinic.topics import load_contract

blueprint = Blueprint("review", __name__, url_prefix="/review")
GROUPS_PER_PAGE = 20
DONE = {
    "decided": "Saved. The decision is in the audit log.",
    "none": "Nothing changed: those questions were decided already.",
}


def _review() -> ReviewStore:
    return ReviewStore(current_app.config["STORE"])


def decision_labels():
    topics = load_contract().topics
    labels = {topic_id: f"Topic: {topic.title} ({topic_id})" for topic_id, topic in topics.items()}
    labels.update({OUT_OF_SCOPE: "Out of scope", NEEDS_ANSWER: "Needs a new answer", OPEN: "Back to open"})
    return labels


def topic_title(topic_id):
    topic = load_contract().topics.get(topic_id or "")
    return topic.title if topic else (topic_id or "none")


@blueprint.app_context_processor
def _review_globals():
    return {"REVIEW_KINDS": REVIEW_KINDS, "topic_title": topic_title}


@blueprint.route("")
@require_role("reviewer")
def queue():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    groups, total = _review().open_groups(limit=GROUPS_PER_PAGE, offset=(page - 1) * GROUPS_PER_PAGE)
    return render_template(
        "review.html",
        groups=groups,
        total=total,
        page=page,
        pages=max((total + GROUPS_PER_PAGE - 1) // GROUPS_PER_PAGE, 1),
        counts=_review().counts_by_status(),
        labels=decision_labels(),
        choices=[d for d in decisions() if d != OPEN],
        done=DONE.get(request.args.get("done", "")),
    )


@blueprint.route("/groups/<int:group_id>")
@require_role("reviewer")
def group(group_id: int):
    found = _review().group(group_id)
    if found is None:
        abort(404)
    return render_template(
        "review_group.html",
        group=found,
        labels=decision_labels(),
        choices=decisions(),
        done=DONE.get(request.args.get("done", "")),
    )


def _decision() -> str:
    decision = request.form.get("decision", "")
    if decision not in decisions():
        abort(400, "Choose what to do with these questions.")
    return decision


@blueprint.route("/groups/<int:group_id>/decide", methods=["POST"])
@require_role("reviewer")
def decide_group(group_id: int):
    if _review().group(group_id, limit=1) is None:
        abort(404)
    changed = _review().decide(g.actor, _decision(), group_id=group_id)
    return redirect(url_for("review.queue", done="decided" if changed else "none"))


@blueprint.route("/items/decide", methods=["POST"])
@require_role("reviewer")
def decide_items():
    group_id = request.form.get("group", type=int)
    ids = [int(i) for i in request.form.getlist("item") if i.isdigit()]
    if not ids:
        abort(400, "Tick the questions the decision is for.")
    changed = _review().decide(g.actor, _decision(), item_ids=ids)
    target = url_for("review.group", group_id=group_id) if group_id else url_for("review.queue")
    return redirect(f"{target}?done={'decided' if changed else 'none'}")


@blueprint.route("/new-answers")
@require_role("reviewer")
def new_answers():
    return render_template("review_new_answers.html", groups=_review().needs_answer())
