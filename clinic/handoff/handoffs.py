"""Handoffs: the call-back requests the assistant stores and the nurse queue works (create, list,
claim, resolve), and retention's purge of old ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.handoff.database import Conflict, Database, NotFound, StoreUnavailable, utcnow
from clinic.handoff.schema import DEFAULT_LANGUAGE, LANGUAGES, AuditRow, HandoffRow, OutboxRow, StaffSessionRow, columns
from clinic.severity import Severity

KINDS = ("scheduling", "question", "didnt_help", "urgent")
STATUSES = ("new", "claimed", "resolved")
OPEN_STATUSES = ("new", "claimed")
ROUTINE = "routine"
# A handoff's place in the nurse queue, stored with it (urgency_rank), so the numbers must stay as
# they are. Emergencies and crises share the top of the queue: both mean "act now", and neither
# may wait behind the other.
URGENCY_RANK = {
    **{severity.value: min(severity.rank, Severity.EMERGENCY.rank) + 1 for severity in Severity},
    ROUTINE: 0,
}
OUTCOMES = {
    "called_back": "Called the patient back",
    "scheduled": "Appointment scheduled",
    "no_answer": "No answer, message left",
    "sent_to_emergency": "Advised emergency care",
    "not_needed": "No call needed",
    "other": "Other (see notes)",
}
REFERENCE_PREFIX = "TPI-"
# No 0/O or 1/I: patients read the reference out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 5
MAX_NOTES = 4000


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


@dataclass
class NewHandoff:
    idempotency_key: str
    conversation_id: str
    kind: str
    urgency: str
    patient_name: str
    callback_phone: str
    callback_time: str
    reason: str
    consent: bool
    topics: List[str] = field(default_factory=list)
    red_flags: List[Dict[str, Any]] = field(default_factory=list)
    transcript: List[Dict[str, Any]] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE


def _handoff_dict(row: HandoffRow) -> Dict[str, Any]:
    return {
        **columns(
            row,
            "reference",
            "conversation_id",
            "kind",
            "urgency",
            "status",
            "patient_name",
            "callback_phone",
            "callback_time",
            "reason",
            "consent",
            "created_at",
            "updated_at",
            "claimed_by",
            "claimed_at",
            "resolved_by",
            "resolved_at",
            "outcome",
            "notes",
        ),
        "topics": list(row.topics or []),
        "red_flags": list(row.red_flags or []),
        "transcript": list(row.transcript or []),
        "language": row.language or DEFAULT_LANGUAGE,
    }


class Handoffs(Database):
    def create_handoff(self, new: NewHandoff, notify: bool = False) -> Tuple[Dict[str, Any], bool]:
        """Commit a handoff; returns (handoff, created). A repeated idempotency key returns the
        handoff already stored for it, with created False."""
        if new.kind not in KINDS:
            raise ValueError(f"unknown kind {new.kind!r}")
        if new.urgency not in URGENCY_RANK:
            raise ValueError(f"unknown urgency {new.urgency!r}")
        if new.language not in LANGUAGES:
            raise ValueError(f"unknown language {new.language!r}")
        for _ in range(5):
            existing = self._by_idempotency_key(new.idempotency_key)
            if existing is not None:
                return existing, False
            try:
                return self._insert(new, notify), True
            except IntegrityError:
                # Either the same conversation won a race with itself (the loop then finds its
                # record), or the random reference collided (the loop draws a new one).
                continue
        raise StoreUnavailable("could not allocate a reference")

    def _by_idempotency_key(self, key: str) -> Optional[Dict[str, Any]]:
        with self._session() as session:
            row = session.execute(select(HandoffRow).where(HandoffRow.idempotency_key == key)).scalar_one_or_none()
            return _handoff_dict(row) if row else None

    def _insert(self, new: NewHandoff, notify: bool) -> Dict[str, Any]:
        now = utcnow()
        row = HandoffRow(
            reference=new_reference(),
            idempotency_key=new.idempotency_key,
            conversation_id=new.conversation_id,
            kind=new.kind,
            urgency=new.urgency,
            urgency_rank=URGENCY_RANK[new.urgency],
            status="new",
            patient_name=new.patient_name,
            callback_phone=new.callback_phone,
            callback_time=new.callback_time,
            reason=new.reason,
            consent=new.consent,
            topics=list(new.topics),
            red_flags=list(new.red_flags),
            transcript=list(new.transcript),
            language=new.language,
            created_at=now,
            updated_at=now,
        )
        with self._session() as session:
            session.add(row)
            session.flush()
            session.add(
                AuditRow(
                    at=now,
                    actor="assistant",
                    action="created",
                    handoff_reference=row.reference,
                    detail=f"kind={new.kind} urgency={new.urgency}",
                )
            )
            if notify:
                session.add(
                    OutboxRow(
                        handoff_reference=row.reference,
                        payload={
                            "reference": row.reference,
                            "kind": row.kind,
                            "urgency": row.urgency,
                            "created_at": now.replace(tzinfo=timezone.utc).isoformat(),
                        },
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
        return _handoff_dict(row)

    def get_handoff(self, reference: str) -> Optional[Dict[str, Any]]:
        with self._session() as session:
            row = session.execute(select(HandoffRow).where(HandoffRow.reference == reference)).scalar_one_or_none()
            return _handoff_dict(row) if row else None

    def list_handoffs(
        self, statuses=OPEN_STATUSES, limit: int = 200, language: Optional[str] = None
    ) -> List[Dict[str, Any]]:
        """Most urgent first, then oldest first: the order in which staff should work them; only
        the patients who spoke ``language`` when it is given."""
        with self._session() as session:
            query = select(HandoffRow).where(HandoffRow.status.in_(list(statuses)))
            if language:
                query = query.where(HandoffRow.language == language)
            if tuple(statuses) == ("resolved",):
                query = query.order_by(HandoffRow.resolved_at.desc(), HandoffRow.id.desc())
            else:
                query = query.order_by(HandoffRow.urgency_rank.desc(), HandoffRow.created_at.asc(), HandoffRow.id.asc())
            rows = session.execute(query.limit(limit)).scalars().all()
            return [_handoff_dict(row) for row in rows]

    def count_handoffs(self) -> int:
        with self._session() as session:
            return session.execute(select(func.count(HandoffRow.id))).scalar_one()

    def claim(self, reference: str, actor: str) -> Dict[str, Any]:
        now = utcnow()
        with self._session() as session:
            row = self._locked_row(session, reference)
            if row.status == "claimed" and row.claimed_by == actor:
                return _handoff_dict(row)
            if row.status != "new":
                raise Conflict(f"{reference} is {row.status}" + (f" by {row.claimed_by}" if row.claimed_by else ""))
            # Conditional update: of two staff claiming at once, exactly one wins.
            result = session.execute(
                update(HandoffRow)
                .where(and_(HandoffRow.id == row.id, HandoffRow.status == "new"))
                .values(status="claimed", claimed_by=actor, claimed_at=now, updated_at=now)
            )
            if result.rowcount != 1:
                raise Conflict(f"{reference} was claimed by someone else")
            session.add(AuditRow(at=now, actor=actor, action="claimed", handoff_reference=reference))
            session.expire(row)
            return _handoff_dict(session.get(HandoffRow, row.id))

    def resolve(self, reference: str, actor: str, outcome: str, notes: str = "") -> Dict[str, Any]:
        if outcome not in OUTCOMES:
            raise ValueError("unknown outcome")
        notes = (notes or "").strip()
        if len(notes) > MAX_NOTES:
            raise ValueError(f"notes are longer than {MAX_NOTES} characters")
        now = utcnow()
        with self._session() as session:
            row = self._locked_row(session, reference)
            if row.status == "resolved":
                raise Conflict(f"{reference} is already resolved")
            result = session.execute(
                update(HandoffRow)
                .where(and_(HandoffRow.id == row.id, HandoffRow.status != "resolved"))
                .values(
                    status="resolved",
                    claimed_by=row.claimed_by or actor,
                    claimed_at=row.claimed_at or now,
                    resolved_by=actor,
                    resolved_at=now,
                    outcome=outcome,
                    notes=notes,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                raise Conflict(f"{reference} was resolved by someone else")
            # The notes may hold patient details: the audit log records that there were notes, not what.
            session.add(
                AuditRow(
                    at=now,
                    actor=actor,
                    action="resolved",
                    handoff_reference=reference,
                    detail=f"outcome={outcome}" + (" with notes" if notes else ""),
                )
            )
            session.expire(row)
            return _handoff_dict(session.get(HandoffRow, row.id))

    @staticmethod
    def _locked_row(session: Session, reference: str) -> HandoffRow:
        row = session.execute(
            select(HandoffRow).where(HandoffRow.reference == reference).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(reference)
        return row

    def purge(self, older_than: datetime, actor: str = "retention") -> int:
        """Delete handoffs (with their transcripts) created before `older_than`, their notices, and
        expired sessions. The audit log keeps its rows: they hold no patient details."""
        with self._session() as session:
            references = (
                session.execute(select(HandoffRow.reference).where(HandoffRow.created_at < older_than)).scalars().all()
            )
            if references:
                session.execute(delete(OutboxRow).where(OutboxRow.handoff_reference.in_(references)))
                session.execute(delete(HandoffRow).where(HandoffRow.reference.in_(references)))
            session.execute(
                delete(OutboxRow).where(and_(OutboxRow.delivered_at.isnot(None), OutboxRow.delivered_at < older_than))
            )
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at < utcnow()))
            session.add(
                AuditRow(
                    at=utcnow(),
                    actor=actor,
                    action="purged",
                    detail=f"{len(references)} handoffs created before {older_than:%Y-%m-%d %H:%M} UTC",
                )
            )
            return len(references)
