"""The review queue in the clinic's database: questions the assistant could not answer well, grouped
by meaning, the reviewers' decisions, answer feedback, and the daily counts the analytics page
reads.

Tables (beside the handoffs, created with them):

- ``review_items``: one patient question each, already scrubbed of phone numbers, e-mail addresses
  and names (clinic/handoff/scrub.py), with why it is here (deflected, asked back, answered with low
  confidence, answer marked unhelpful), the topic the assistant guessed and how sure it was, its
  group, and the reviewer's decision;
- ``review_groups``: the groups of items that mean the same (clinic/handoff/review_groups.py);
- ``answer_feedback``: each "Was this helpful?" answer, by topic (no text);
- ``analytics_daily``: counts per day (the clinic's own time zone), metric and key, no text;
- ``review_cursor``: how far the collector has read Rasa's tracker store.

Every reviewer decision goes into the audit log, with counts and ids, never the patient's words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.handoff.database import StoreUnavailable, utcnow
from clinic.handoff.schema import AuditRow, Base
from clinic.handoff.store import HandoffStore
from clinic.topics import topic_ids

REVIEW_KINDS = {
    "deflected": "Deflected",
    "asked_back": "Asked back",
    "low_confidence": "Answered, unsure",
    "unhelpful": "Answer marked unhelpful",
}
OPEN = "open"
ASSIGNED = "assigned"
OUT_OF_SCOPE = "out_of_scope"
NEEDS_ANSWER = "needs_answer"
STATUSES = (OPEN, ASSIGNED, OUT_OF_SCOPE, NEEDS_ANSWER)
MAX_TEXT = 1000
EXAMPLES_PER_GROUP = 3


class ReviewGroupRow(Base):
    __tablename__ = "review_groups"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False)
    label = Column(String(MAX_TEXT), nullable=False)
    centroid = Column(JSON, nullable=False)
    members = Column(Integer, nullable=False, default=0)
    # Kept up to date with every insert and decision, so the review page sorts without counting.
    open_count = Column(Integer, nullable=False, default=0, index=True)
    vectoriser = Column(String(32), nullable=False)


class ReviewItemRow(Base):
    __tablename__ = "review_items"
    id = Column(Integer, primary_key=True)
    # Which tracker-store event it came from: collecting the same event twice stores it once.
    source = Column(String(120), nullable=False, unique=True)
    conversation_key = Column(String(64), nullable=False, index=True)
    at = Column(DateTime, nullable=False, index=True)
    kind = Column(String(20), nullable=False)
    text = Column(String(MAX_TEXT), nullable=False)
    guessed_topic = Column(String(60))
    topic_confidence = Column(Float, nullable=False, default=0.0)
    intent = Column(String(60))
    intent_confidence = Column(Float, nullable=False, default=0.0)
    answer_topic = Column(String(60))
    group_id = Column(Integer, ForeignKey("review_groups.id"), nullable=False)
    status = Column(String(20), nullable=False, default=OPEN)
    decided_topic = Column(String(60))
    decided_by = Column(String(100))
    decided_at = Column(DateTime)
    exported_at = Column(DateTime)
    __table_args__ = (
        Index("ix_review_items_group_status", "group_id", "status", "id"),
        # Covers the review page's counts per group (kinds, topics, patients) without
        # reading the rows themselves.
        Index(
            "ix_review_items_group_counts",
            "group_id",
            "status",
            "kind",
            "guessed_topic",
            "topic_confidence",
            "conversation_key",
        ),
        Index("ix_review_items_status_decided", "status", "decided_at"),
    )


class FeedbackRow(Base):
    __tablename__ = "answer_feedback"
    id = Column(Integer, primary_key=True)
    source = Column(String(120), nullable=False, unique=True)
    conversation_key = Column(String(64), nullable=False, index=True)
    at = Column(DateTime, nullable=False, index=True)
    topic = Column(String(60))
    helpful = Column(Boolean, nullable=False)


class AnalyticsDailyRow(Base):
    __tablename__ = "analytics_daily"
    id = Column(Integer, primary_key=True)
    day = Column(Date, nullable=False)
    metric = Column(String(30), nullable=False)
    key = Column(String(60), nullable=False, default="")
    count = Column(Integer, nullable=False, default=0)
    __table_args__ = (UniqueConstraint("day", "metric", "key", name="uq_analytics_daily"),)


class ReviewCursorRow(Base):
    __tablename__ = "review_cursor"
    name = Column(String(64), primary_key=True)
    last_event_id = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False)


@dataclass
class NewItem:
    source: str
    conversation_key: str
    at: datetime
    kind: str
    text: str
    group_key: int  # a stored group id, or a negative key of a group made in the same batch
    guessed_topic: Optional[str] = None
    topic_confidence: float = 0.0
    intent: Optional[str] = None
    intent_confidence: float = 0.0
    answer_topic: Optional[str] = None


@dataclass
class GroupChange:
    key: int  # stored id, or negative for a new group
    centroid: Dict[str, list]
    members: int
    label: str
    vectoriser: str


@dataclass
class NewFeedback:
    source: str
    conversation_key: str
    at: datetime
    topic: Optional[str]
    helpful: bool


@dataclass
class Batch:
    """What one pass of the collector found, written in one transaction with the cursor's move."""

    cursor_name: str
    old_cursor: int
    new_cursor: int
    items: List[NewItem]
    groups: List[GroupChange]
    feedback: List[NewFeedback]
    counts: Counter  # (day, metric, key) -> n
    renamed: Dict[str, Dict[int, str]]  # conversation key -> {item id: text scrubbed again}


class CursorMoved(Exception):
    """Another collector committed this batch first; nothing was written."""


def decisions() -> List[str]:
    """What a reviewer can decide: a topic, out of scope, needs a new answer, or back to open."""
    return list(topic_ids()) + [OUT_OF_SCOPE, NEEDS_ANSWER, OPEN]


def _decision_status(decision: str) -> Tuple[str, Optional[str]]:
    if decision in (OUT_OF_SCOPE, NEEDS_ANSWER, OPEN):
        return decision, None
    if decision in topic_ids():
        return ASSIGNED, decision
    raise ValueError(f"unknown decision {decision!r}")


def _item_dict(row: ReviewItemRow) -> Dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "kind": row.kind,
        "text": row.text,
        "guessed_topic": row.guessed_topic,
        "topic_confidence": row.topic_confidence,
        "intent": row.intent,
        "intent_confidence": row.intent_confidence,
        "answer_topic": row.answer_topic,
        "group_id": row.group_id,
        "status": row.status,
        "decided_topic": row.decided_topic,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "exported_at": row.exported_at,
        "conversation_key": row.conversation_key,
    }


class ReviewStore:
    def __init__(self, store: HandoffStore):
        self.store = store

    # ---- the collector's side ----

    def cursor(self, name: str) -> int:
        with self.store.session() as session:
            row = session.get(ReviewCursorRow, name)
            if row is not None:
                return int(row.last_event_id)
        try:
            with self.store.session() as session:
                session.add(ReviewCursorRow(name=name, last_event_id=0, updated_at=utcnow()))
        except IntegrityError:
            pass  # another collector made it first
        return 0

    def groups_for(self, vectoriser: str) -> List[Tuple[int, Dict[str, list], int]]:
        """(id, centroid, members) of every group made with this vectoriser."""
        with self.store.session() as session:
            rows = session.execute(
                select(ReviewGroupRow.id, ReviewGroupRow.centroid, ReviewGroupRow.members).where(
                    ReviewGroupRow.vectoriser == vectoriser
                )
            ).all()
            return [(row.id, row.centroid, row.members) for row in rows]

    def items_of(self, conversation_key: str) -> List[Dict[str, Any]]:
        with self.store.session() as session:
            rows = session.execute(
                select(ReviewItemRow).where(ReviewItemRow.conversation_key == conversation_key)
            ).scalars()
            return [_item_dict(row) for row in rows]

    def commit(self, batch: Batch) -> Dict[int, int]:
        """Write a batch; returns {group key: stored id}. Raises CursorMoved when another collector
        got there first (then nothing is written)."""
        try:
            with self.store.session() as session:
                moved = session.execute(
                    update(ReviewCursorRow)
                    .where(
                        and_(
                            ReviewCursorRow.name == batch.cursor_name, ReviewCursorRow.last_event_id == batch.old_cursor
                        )
                    )
                    .values(last_event_id=batch.new_cursor, updated_at=utcnow())
                )
                if moved.rowcount != 1:
                    raise CursorMoved(batch.cursor_name)
                ids = self._write_groups(session, batch)
                for item in batch.items:
                    session.add(
                        ReviewItemRow(
                            source=item.source,
                            conversation_key=item.conversation_key,
                            at=item.at,
                            kind=item.kind,
                            text=item.text[:MAX_TEXT],
                            guessed_topic=item.guessed_topic,
                            topic_confidence=round(float(item.topic_confidence), 4),
                            intent=item.intent,
                            intent_confidence=round(float(item.intent_confidence), 4),
                            answer_topic=item.answer_topic,
                            group_id=ids[item.group_key],
                            status=OPEN,
                        )
                    )
                opened = Counter(ids[item.group_key] for item in batch.items)
                for group_id, n in opened.items():
                    session.execute(
                        update(ReviewGroupRow)
                        .where(ReviewGroupRow.id == group_id)
                        .values(open_count=ReviewGroupRow.open_count + n)
                    )
                for feedback in batch.feedback:
                    session.add(
                        FeedbackRow(
                            source=feedback.source,
                            conversation_key=feedback.conversation_key,
                            at=feedback.at,
                            topic=feedback.topic,
                            helpful=feedback.helpful,
                        )
                    )
                for items in batch.renamed.values():
                    for item_id, text in items.items():
                        session.execute(
                            update(ReviewItemRow).where(ReviewItemRow.id == item_id).values(text=text[:MAX_TEXT])
                        )
                _add_counts(session, batch.counts)
                return ids
        except IntegrityError as error:
            # The same events stored by another collector, or a count row made at the same moment.
            raise CursorMoved(batch.cursor_name) from error

    @staticmethod
    def _write_groups(session: Session, batch: Batch) -> Dict[int, int]:
        ids: Dict[int, int] = {}
        now = utcnow()
        for change in batch.groups:
            if change.key < 0:
                row = ReviewGroupRow(
                    created_at=now,
                    label=change.label[:MAX_TEXT],
                    centroid=change.centroid,
                    members=change.members,
                    open_count=0,
                    vectoriser=change.vectoriser,
                )
                session.add(row)
                session.flush()
                ids[change.key] = row.id
            else:
                session.execute(
                    update(ReviewGroupRow)
                    .where(ReviewGroupRow.id == change.key)
                    .values(centroid=change.centroid, members=change.members)
                )
                ids[change.key] = change.key
        for item in batch.items:
            ids.setdefault(item.group_key, item.group_key)
        return ids

    # ---- the review page ----

    def open_groups(self, limit: int = 25, offset: int = 0) -> Tuple[List[Dict[str, Any]], int]:
        """Groups with open items, largest first, each with examples, counts and the likeliest
        guessed topic; and how many such groups there are."""
        with self.store.session() as session:
            total = session.execute(
                select(func.count(ReviewGroupRow.id)).where(ReviewGroupRow.open_count > 0)
            ).scalar_one()
            rows = session.execute(
                select(ReviewGroupRow.id, ReviewGroupRow.label, ReviewGroupRow.open_count, ReviewGroupRow.members)
                .where(ReviewGroupRow.open_count > 0)
                .order_by(ReviewGroupRow.open_count.desc(), ReviewGroupRow.id.asc())
                .limit(limit)
                .offset(offset)
            ).all()
            ids = [row.id for row in rows]
            groups = {
                row.id: {
                    "id": row.id,
                    "label": row.label,
                    "open": row.open_count,
                    "members": row.members,
                    "patients": 0,
                    "kinds": {},
                    "topics": [],
                    "examples": [],
                }
                for row in rows
            }
            if not ids:
                return [], total
            open_items = and_(ReviewItemRow.group_id.in_(ids), ReviewItemRow.status == OPEN)
            for group_id, patients in session.execute(
                select(ReviewItemRow.group_id, func.count(func.distinct(ReviewItemRow.conversation_key)))
                .where(open_items)
                .group_by(ReviewItemRow.group_id)
            ):
                groups[group_id]["patients"] = patients
            topics: Dict[int, Dict[str, List[float]]] = {gid: {} for gid in ids}
            for group_id, kind, topic, n, confidence in session.execute(
                select(
                    ReviewItemRow.group_id,
                    ReviewItemRow.kind,
                    ReviewItemRow.guessed_topic,
                    func.count(ReviewItemRow.id),
                    func.sum(ReviewItemRow.topic_confidence),
                )
                .where(open_items)
                .group_by(ReviewItemRow.group_id, ReviewItemRow.kind, ReviewItemRow.guessed_topic)
            ):
                kinds = groups[group_id]["kinds"]
                kinds[kind] = kinds.get(kind, 0) + n
                entry = topics[group_id].setdefault(topic, [0, 0.0])
                entry[0] += n
                entry[1] += float(confidence or 0.0)
            for group in groups.values():
                group["topics"] = sorted(
                    (
                        {"topic": t, "count": int(n), "confidence": total_confidence / n if n else 0.0}
                        for t, (n, total_confidence) in topics[group["id"]].items()
                    ),
                    key=lambda t: -t["count"],
                )
                # One short index scan per group (group, status, id), newest first.
                group["examples"] = [
                    _item_dict(row)
                    for row in session.execute(
                        select(ReviewItemRow)
                        .where(and_(ReviewItemRow.group_id == group["id"], ReviewItemRow.status == OPEN))
                        .order_by(ReviewItemRow.id.desc())
                        .limit(EXAMPLES_PER_GROUP)
                    ).scalars()
                ]
            return [groups[i] for i in ids], total

    def group(self, group_id: int, limit: int = 200) -> Optional[Dict[str, Any]]:
        with self.store.session() as session:
            row = session.get(ReviewGroupRow, group_id)
            if row is None:
                return None
            items = session.execute(
                select(ReviewItemRow)
                .where(ReviewItemRow.group_id == group_id)
                .order_by((ReviewItemRow.status == OPEN).desc(), ReviewItemRow.id.desc())
                .limit(limit)
            ).scalars()
            return {
                "id": row.id,
                "label": row.label,
                "open": row.open_count,
                "members": row.members,
                "items": [_item_dict(item) for item in items],
            }

    def decide(self, actor: str, decision: str, *, group_id: Optional[int] = None, item_ids: Sequence[int] = ()) -> int:
        """Record a reviewer's decision for a group's open items, or for chosen items; returns how
        many items it changed. Exported items keep their decision (they are in the training data)."""
        status, topic = _decision_status(decision)
        if group_id is None and not item_ids:
            return 0
        now = utcnow()
        with self.store.session() as session:
            query = select(ReviewItemRow).where(ReviewItemRow.exported_at.is_(None))
            if group_id is not None:
                query = query.where(and_(ReviewItemRow.group_id == group_id, ReviewItemRow.status == OPEN))
            if item_ids:
                query = query.where(ReviewItemRow.id.in_([int(i) for i in item_ids]))
            rows = session.execute(query.with_for_update()).scalars().all()
            changed = [row for row in rows if (row.status, row.decided_topic) != (status, topic)]
            delta: Counter = Counter()
            for row in changed:
                delta[row.group_id] += (status == OPEN) - (row.status == OPEN)
                row.status = status
                row.decided_topic = topic
                row.decided_by = None if status == OPEN else actor
                row.decided_at = None if status == OPEN else now
            for gid, n in delta.items():
                if n:
                    session.execute(
                        update(ReviewGroupRow)
                        .where(ReviewGroupRow.id == gid)
                        .values(open_count=ReviewGroupRow.open_count + n)
                    )
            if changed:
                groups = sorted({row.group_id for row in changed})
                session.add(
                    AuditRow(
                        at=now,
                        actor=actor,
                        action="review_reopened" if status == OPEN else "review_decided",
                        detail=(
                            f"decision={topic or status} items={len(changed)} "
                            f"groups={','.join(str(g) for g in groups[:20])}{'...' if len(groups) > 20 else ''} "
                            f"ids={','.join(str(r.id) for r in changed[:30])}{'...' if len(changed) > 30 else ''}"
                        )[:500],
                    )
                )
            return len(changed)

    def decided(self, statuses: Iterable[str], limit: int = 500) -> List[Dict[str, Any]]:
        with self.store.session() as session:
            rows = session.execute(
                select(ReviewItemRow)
                .where(ReviewItemRow.status.in_(list(statuses)))
                .order_by(ReviewItemRow.decided_at.desc(), ReviewItemRow.id.desc())
                .limit(limit)
            ).scalars()
            return [_item_dict(row) for row in rows]

    def needs_answer(self, groups: int = 100, examples: int = 10) -> List[Dict[str, Any]]:
        """The questions marked "needs a new answer", by group, largest first (the newest examples)."""
        needs = ReviewItemRow.status == NEEDS_ANSWER
        with self.store.session() as session:
            found = session.execute(
                select(
                    ReviewItemRow.group_id,
                    func.count(ReviewItemRow.id),
                    func.count(func.distinct(ReviewItemRow.conversation_key)),
                )
                .where(needs)
                .group_by(ReviewItemRow.group_id)
                .order_by(func.count(ReviewItemRow.id).desc(), ReviewItemRow.group_id)
                .limit(groups)
            ).all()
            out = {gid: {"group_id": gid, "count": n, "patients": patients, "items": []} for gid, n, patients in found}
            if out:
                ranked = (
                    select(
                        ReviewItemRow.id,
                        func.row_number()
                        .over(
                            partition_by=ReviewItemRow.group_id,
                            order_by=(ReviewItemRow.decided_at.desc(), ReviewItemRow.id.desc()),
                        )
                        .label("rank"),
                    )
                    .where(and_(needs, ReviewItemRow.group_id.in_(list(out))))
                    .subquery()
                )
                rows = session.execute(
                    select(ReviewItemRow)
                    .join(ranked, ReviewItemRow.id == ranked.c.id)
                    .where(ranked.c.rank <= examples)
                    .order_by(ReviewItemRow.decided_at.desc(), ReviewItemRow.id.desc())
                ).scalars()
                for row in rows:
                    out[row.group_id]["items"].append(_item_dict(row))
            return [out[gid] for gid, _n, _p in found]

    def counts_by_status(self) -> Dict[str, int]:
        with self.store.session() as session:
            return {
                status: n
                for status, n in session.execute(
                    select(ReviewItemRow.status, func.count(ReviewItemRow.id)).group_by(ReviewItemRow.status)
                )
            }

    # ---- export ----

    def to_export(self) -> List[Dict[str, Any]]:
        """Decided items (a topic or out of scope) not yet written to the training data."""
        with self.store.session() as session:
            rows = session.execute(
                select(ReviewItemRow)
                .where(and_(ReviewItemRow.status.in_([ASSIGNED, OUT_OF_SCOPE]), ReviewItemRow.exported_at.is_(None)))
                .order_by(ReviewItemRow.decided_at, ReviewItemRow.id)
            ).scalars()
            return [_item_dict(row) for row in rows]

    def mark_exported(self, item_ids: Sequence[int], actor: str, detail: str) -> None:
        now = utcnow()
        with self.store.session() as session:
            for start in range(0, len(item_ids), 500):
                chunk = [int(i) for i in item_ids[start : start + 500]]
                session.execute(update(ReviewItemRow).where(ReviewItemRow.id.in_(chunk)).values(exported_at=now))
            session.add(AuditRow(at=now, actor=actor, action="review_exported", detail=detail[:500]))

    # ---- retention ----

    def purge(self, older_than: datetime, actor: str = "retention") -> Tuple[int, int]:
        """Delete review items and answer feedback from before `older_than`, and groups left with
        no items; returns (items, feedback) deleted. The daily counts stay: they hold no text."""
        with self.store.session() as session:
            gone = session.execute(
                select(ReviewItemRow.group_id, ReviewItemRow.status, func.count(ReviewItemRow.id))
                .where(ReviewItemRow.at < older_than)
                .group_by(ReviewItemRow.group_id, ReviewItemRow.status)
            ).all()
            items = session.execute(delete(ReviewItemRow).where(ReviewItemRow.at < older_than)).rowcount
            for group_id, status, n in gone:
                if status == OPEN:
                    session.execute(
                        update(ReviewGroupRow)
                        .where(ReviewGroupRow.id == group_id)
                        .values(open_count=ReviewGroupRow.open_count - n)
                    )
            remaining = select(ReviewItemRow.group_id).distinct()
            session.execute(
                delete(ReviewGroupRow)
                .where(ReviewGroupRow.id.not_in(remaining))
                .execution_options(synchronize_session=False)
            )
            feedback = session.execute(delete(FeedbackRow).where(FeedbackRow.at < older_than)).rowcount
            session.add(
                AuditRow(
                    at=utcnow(),
                    actor=actor,
                    action="review_purged",
                    detail=f"{items} review items and {feedback} feedback answers from before "
                    f"{older_than:%Y-%m-%d %H:%M} UTC",
                )
            )
            return items, feedback

    # ---- analytics ----

    def daily_counts(self, start: date, end: date) -> List[Tuple[date, str, str, int]]:
        """(day, metric, key, count) rows of the days start..end."""
        query = text("SELECT day, metric, key, count FROM analytics_daily WHERE day >= :start AND day <= :end")
        with self.store.session() as session:
            rows = session.execute(query, {"start": start.isoformat(), "end": end.isoformat()}).all()
        # SQLite hands back text, PostgreSQL dates; no ORM type handling on thousands of rows.
        return [
            (day if isinstance(day, date) else date.fromisoformat(str(day)[:10]), metric, key, int(n))
            for day, metric, key, n in rows
        ]

    def add_counts(self, counts: Counter) -> None:
        """Add to the daily counts directly (seeding, tests); the collector adds them with a batch."""
        with self.store.session() as session:
            _add_counts(session, counts)


def _add_counts(session: Session, counts: Counter) -> None:
    for (day, metric, key), n in sorted(counts.items()):
        if not n:
            continue
        result = session.execute(
            update(AnalyticsDailyRow)
            .where(and_(AnalyticsDailyRow.day == day, AnalyticsDailyRow.metric == metric, AnalyticsDailyRow.key == key))
            .values(count=AnalyticsDailyRow.count + n)
        )
        if result.rowcount == 0:
            session.add(AnalyticsDailyRow(day=day, metric=metric, key=key, count=n))
            session.flush()


def get_review_store(store: Optional[HandoffStore] = None) -> ReviewStore:
    from clinic.handoff.store import get_store

    return ReviewStore(store or get_store())


__all__ = ["CursorMoved", "ReviewStore", "StoreUnavailable", "get_review_store"]
