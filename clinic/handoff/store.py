"""The nurse-line handoff store: one object over the clinic's database, made of its parts
(``handoffs``, ``staff``, ``audit``, ``outbox``; tables in ``schema``, connection in ``database``),
and the names its callers use.
"""

from __future__ import annotations

import threading
from typing import Dict, Optional

from clinic.handoff.audit import AuditLog
from clinic.handoff.database import Conflict, NotFound, StoreUnavailable, utcnow
from clinic.handoff.handoffs import (
    KINDS,
    OPEN_STATUSES,
    OUTCOMES,
    ROUTINE,
    STATUSES,
    URGENCY_RANK,
    Handoffs,
    NewHandoff,
)
from clinic.handoff.outbox import Outbox
from clinic.handoff.schema import DEFAULT_LANGUAGE, LANGUAGES, AuditRow, Base, HandoffRow
from clinic.handoff.staff import ROLES, Staff, StaffSession

__all__ = [
    "DEFAULT_LANGUAGE",
    "KINDS",
    "LANGUAGES",
    "OPEN_STATUSES",
    "OUTCOMES",
    "ROLES",
    "ROUTINE",
    "STATUSES",
    "URGENCY_RANK",
    "AuditRow",
    "Base",
    "Conflict",
    "HandoffRow",
    "HandoffStore",
    "NewHandoff",
    "NotFound",
    "StaffSession",
    "StoreUnavailable",
    "get_store",
    "utcnow",
]


class HandoffStore(Handoffs, Staff, AuditLog, Outbox):
    """Handoffs, staff accounts and sessions, API tokens, the audit log and the webhook outbox."""


_stores: Dict[str, HandoffStore] = {}
_stores_lock = threading.Lock()


def get_store(url: Optional[str] = None) -> HandoffStore:
    """One store (one connection pool) per database URL and process."""
    if url is None:
        from clinic.settings import get_settings

        url = get_settings().database_url
    with _stores_lock:
        if url not in _stores:
            _stores[url] = HandoffStore(url)
        return _stores[url]
