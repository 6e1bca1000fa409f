"""The clinic database's tables: handoffs, staff accounts, roles, sessions and API tokens, the
audit log and the webhook outbox (the review queue's tables are in ``review_store``), and the
columns added to them since the first release.

Times are stored as naive UTC: SQLite keeps no time zone, and mixing aware and naive values is the
usual source of off-by-hours queues.
"""

from __future__ import annotations

from typing import Any, Dict

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

Base: Any = declarative_base()  # (a class made at run time: mypy cannot check its subclasses)


def columns(row: Any, *names: str) -> Dict[str, Any]:
    """The named columns of a row, as a plain dict that outlives its session."""
    return {name: getattr(row, name) for name in names}


# The patient's language, so the nurse line can call with an interpreter.
LANGUAGES = {"en": "English", "es": "Spanish"}
DEFAULT_LANGUAGE = "en"


class HandoffRow(Base):
    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    conversation_id = Column(String(255), nullable=False)
    kind = Column(String(20), nullable=False)
    urgency = Column(String(20), nullable=False)
    urgency_rank = Column(Integer, nullable=False, index=True)
    status = Column(String(20), nullable=False, default="new", index=True)
    patient_name = Column(String(200), nullable=False)
    callback_phone = Column(String(40), nullable=False)
    callback_time = Column(String(300), nullable=False)
    reason = Column(Text, nullable=False)
    consent = Column(Boolean, nullable=False)
    topics = Column(JSON, nullable=False, default=list)
    red_flags = Column(JSON, nullable=False, default=list)
    transcript = Column(JSON, nullable=False, default=list)
    language = Column(String(8), nullable=False, default=DEFAULT_LANGUAGE, server_default=DEFAULT_LANGUAGE)
    created_at = Column(DateTime, nullable=False, index=True)
    updated_at = Column(DateTime, nullable=False)
    claimed_by = Column(String(100))
    claimed_at = Column(DateTime)
    resolved_by = Column(String(100))
    resolved_at = Column(DateTime)
    outcome = Column(String(40))
    notes = Column(Text)


class StaffUserRow(Base):
    __tablename__ = "staff_users"
    id = Column(Integer, primary_key=True)
    username = Column(String(100), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)


class StaffRoleRow(Base):
    # A table of its own (not a column of staff_users), so that databases made before roles
    # existed get it from create_all without a migration.
    __tablename__ = "staff_roles"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    role = Column(String(40), nullable=False)
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_staff_role"),)


class StaffSessionRow(Base):
    __tablename__ = "staff_sessions"
    id = Column(Integer, primary_key=True)
    # Only a hash of the cookie value is kept, so a copy of the database cannot sign anyone in.
    session_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False)
    last_used_at = Column(DateTime)
    revoked_at = Column(DateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    actor = Column(String(120), nullable=False)
    action = Column(String(40), nullable=False)
    # A reference, never a foreign key: the history outlives the purged handoff it describes.
    handoff_reference = Column(String(16), index=True)
    detail = Column(String(500))


class OutboxRow(Base):
    __tablename__ = "webhook_outbox"
    id = Column(Integer, primary_key=True)
    handoff_reference = Column(String(16), nullable=False, index=True)
    payload = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, index=True)
    # A lease, so that two notifier processes never send the same notice at the same moment.
    locked_until = Column(DateTime)
    last_error = Column(String(200))
    delivered_at = Column(DateTime, index=True)


# Columns added after the first release, with the DDL that adds them to an older database
# (create_all makes missing tables, never missing columns).
LATER_COLUMNS = {
    (
        "handoffs",
        "language",
    ): f"ALTER TABLE handoffs ADD COLUMN language VARCHAR(8) NOT NULL DEFAULT '{DEFAULT_LANGUAGE}'",
}
