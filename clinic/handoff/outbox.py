"""The webhook outbox: notices of new handoffs waiting for the notifier, each leased to one sender."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List

from sqlalchemy import and_, or_, select, update

from clinic.handoff.database import Database, utcnow
from clinic.handoff.schema import OutboxRow


class Outbox(Database):
    def lease_notices(self, limit: int = 20, lease: timedelta = timedelta(seconds=60)) -> List[Dict[str, Any]]:
        """Undelivered notices that are due, each leased to the caller for `lease`."""
        now = utcnow()
        leased = []
        with self._session() as session:
            candidates = (
                session.execute(
                    select(OutboxRow.id)
                    .where(
                        and_(
                            OutboxRow.delivered_at.is_(None),
                            OutboxRow.next_attempt_at <= now,
                            or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < now),
                        )
                    )
                    .order_by(OutboxRow.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            for row_id in candidates:
                result = session.execute(
                    update(OutboxRow)
                    .where(
                        and_(
                            OutboxRow.id == row_id, or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < now)
                        )
                    )
                    .values(locked_until=now + lease)
                )
                if result.rowcount == 1:
                    row = session.get(OutboxRow, row_id)
                    leased.append({"id": row.id, "payload": dict(row.payload), "attempts": row.attempts})
        return leased

    def mark_delivered(self, notice_id: int) -> None:
        with self._session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == notice_id)
                .values(delivered_at=utcnow(), locked_until=None, last_error=None, attempts=OutboxRow.attempts + 1)
            )

    def mark_failed(self, notice_id: int, error: str, retry_at: datetime) -> None:
        with self._session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == notice_id)
                .values(
                    attempts=OutboxRow.attempts + 1, next_attempt_at=retry_at, locked_until=None, last_error=error[:200]
                )
            )

    def outbox(self) -> List[Dict[str, Any]]:
        with self._session() as session:
            rows = session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars().all()
            return [
                {
                    "id": r.id,
                    "reference": r.handoff_reference,
                    "payload": dict(r.payload),
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at,
                    "last_error": r.last_error,
                    "delivered_at": r.delivered_at,
                }
                for r in rows
            ]
