"""The audit log: who did what to which handoff, with no patient details."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from sqlalchemy import select

from clinic.handoff.database import Database, utcnow
from clinic.handoff.schema import AuditRow, columns


def _audit_dict(row: AuditRow) -> Dict[str, Any]:
    return {**columns(row, "at", "actor", "action", "detail"), "reference": row.handoff_reference}


class AuditLog(Database):
    def record(self, actor: str, action: str, reference: Optional[str] = None, detail: Optional[str] = None) -> None:
        with self._session() as session:
            session.add(AuditRow(at=utcnow(), actor=actor, action=action, handoff_reference=reference, detail=detail))

    def audit_log(self, reference: Optional[str] = None, limit: int = 500) -> List[Dict[str, Any]]:
        with self._session() as session:
            query = select(AuditRow)
            if reference:
                query = query.where(AuditRow.handoff_reference == reference)
            rows = session.execute(query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)).scalars().all()
            return [_audit_dict(row) for row in rows]
