"""The nurse-line handoff database: handoffs, staff accounts and sessions, API tokens, the audit log
and the webhook outbox, through SQLAlchemy so that one SQLite file and a shared PostgreSQL server
behave the same.

Times are stored as naive UTC: SQLite keeps no time zone, and mixing aware and naive values is the
usual source of off-by-hours queues.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.severity import Severity

Base: Any = declarative_base()  # (a class made at run time: mypy cannot check its subclasses)

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
# The patient's language, so the nurse line can call with an interpreter.
LANGUAGES = {"en": "English", "es": "Spanish"}
DEFAULT_LANGUAGE = "en"
REFERENCE_PREFIX = "TPI-"
# No 0/O or 1/I: patients read the reference out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 5
TOKEN_PREFIX = "tpi_"
# What a staff account may do beyond the handoff queue, which every account works. Reviewers sort
# the review queue of unanswered questions (console: Review).
ROLES = ("reviewer",)
MAX_NOTES = 4000


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StoreUnavailable(Exception):
    """The database cannot be reached or written; nothing was stored."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    """The handoff is not in a state that allows the change (someone else got there first)."""


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


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    username: str
    csrf_token: str
    expires_at: datetime
    roles: Tuple[str, ...] = ()


def _handoff_dict(row: HandoffRow) -> Dict[str, Any]:
    return {
        "reference": row.reference,
        "conversation_id": row.conversation_id,
        "kind": row.kind,
        "urgency": row.urgency,
        "status": row.status,
        "patient_name": row.patient_name,
        "callback_phone": row.callback_phone,
        "callback_time": row.callback_time,
        "reason": row.reason,
        "consent": row.consent,
        "topics": list(row.topics or []),
        "red_flags": list(row.red_flags or []),
        "transcript": list(row.transcript or []),
        "language": row.language or DEFAULT_LANGUAGE,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "claimed_by": row.claimed_by,
        "claimed_at": row.claimed_at,
        "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at,
        "outcome": row.outcome,
        "notes": row.notes,
    }


def _audit_dict(row: AuditRow) -> Dict[str, Any]:
    return {
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "reference": row.handoff_reference,
        "detail": row.detail,
    }


def _make_engine(url: str) -> Engine:
    # hide_parameters: SQLAlchemy otherwise quotes the statement's values (names, phone numbers)
    # in every error message, and error messages end up in logs.
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               hide_parameters=True, future=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the console read while the action server writes; the busy timeout makes
            # concurrent writers wait for each other instead of failing.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True, future=True)


# Columns added after the first release, with the DDL that adds them to an older database
# (create_all makes missing tables, never missing columns).
_LATER_COLUMNS = {
    ("handoffs", "language"): f"ALTER TABLE handoffs ADD COLUMN language VARCHAR(8) NOT NULL DEFAULT '{DEFAULT_LANGUAGE}'",
}


def _add_missing_columns(engine: Engine) -> None:
    tables = {table: {c["name"] for c in inspect(engine).get_columns(table)}
              for table in {table for table, _ in _LATER_COLUMNS}}
    for (table, column), ddl in _LATER_COLUMNS.items():
        if column not in tables[table]:
            try:
                with engine.begin() as connection:
                    connection.execute(text(ddl))
            except DBAPIError as error:
                # Another process may have added it between our look and the ALTER.
                if "duplicate" not in str(error.orig).lower() and "exists" not in str(error.orig).lower():
                    raise


class HandoffStore:
    def __init__(self, url: str):
        self.url = url
        self._engine: Optional[Engine] = None
        self._sessions: Optional[sessionmaker] = None
        self._schema_ready = False
        self._lock = threading.Lock()

    # ---- plumbing ----

    def _ready(self) -> sessionmaker:
        # Lazy, and retried on every call until it works: the database may come back after being
        # down when the process started.
        if self._schema_ready:
            return self._sessions
        with self._lock:
            if not self._schema_ready:
                # The review queue's tables live beside the handoffs (one schema, one create_all).
                import clinic.handoff.review_store  # noqa: F401

                if self._engine is None:
                    self._engine = _make_engine(self.url)
                    self._sessions = sessionmaker(self._engine, expire_on_commit=False, future=True)
                try:
                    Base.metadata.create_all(self._engine)
                except DBAPIError as error:
                    # Another process may have created the tables between our check and create.
                    if "already exists" not in str(error.orig):
                        raise
                    Base.metadata.create_all(self._engine)
                _add_missing_columns(self._engine)
                self._schema_ready = True
        return self._sessions

    def session(self):
        """One transaction on the clinic's database, for the modules that keep tables beside the
        handoffs (the review queue); database trouble raises StoreUnavailable."""
        return self._session()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            sessions = self._ready()
            with sessions() as session:
                with session.begin():
                    yield session
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError) as error:
            raise StoreUnavailable(type(error).__name__) from error

    def create_schema(self) -> None:
        try:
            self._ready()
        except (SQLAlchemyError, OSError) as error:
            raise StoreUnavailable(type(error).__name__) from error

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # ---- handoffs ----

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
            session.add(AuditRow(at=now, actor="assistant", action="created", handoff_reference=row.reference,
                                 detail=f"kind={new.kind} urgency={new.urgency}"))
            if notify:
                session.add(OutboxRow(
                    handoff_reference=row.reference,
                    payload={"reference": row.reference, "kind": row.kind, "urgency": row.urgency,
                             "created_at": now.replace(tzinfo=timezone.utc).isoformat()},
                    created_at=now,
                    next_attempt_at=now,
                ))
        return _handoff_dict(row)

    def get_handoff(self, reference: str) -> Optional[Dict[str, Any]]:
        with self._session() as session:
            row = session.execute(select(HandoffRow).where(HandoffRow.reference == reference)).scalar_one_or_none()
            return _handoff_dict(row) if row else None

    def list_handoffs(self, statuses=OPEN_STATUSES, limit: int = 200,
                      language: Optional[str] = None) -> List[Dict[str, Any]]:
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
            session.add(AuditRow(at=now, actor=actor, action="resolved", handoff_reference=reference,
                                 detail=f"outcome={outcome}" + (" with notes" if notes else "")))
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

    # ---- audit ----

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

    # ---- staff accounts and sessions ----

    def create_user(self, username: str, password: str) -> None:
        with self._session() as session:
            session.add(StaffUserRow(username=username, password_hash=generate_password_hash(password),
                                     active=True, created_at=utcnow()))
            session.add(AuditRow(at=utcnow(), actor="admin", action="user_created", detail=f"user={username}"))

    def set_password(self, username: str, password: str) -> None:
        with self._session() as session:
            result = session.execute(update(StaffUserRow).where(StaffUserRow.username == username)
                                     .values(password_hash=generate_password_hash(password)))
            if result.rowcount != 1:
                raise NotFound(username)
            user_id = session.execute(select(StaffUserRow.id).where(StaffUserRow.username == username)).scalar_one()
            # A new password ends every session that the old one opened.
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == user_id))
            session.add(AuditRow(at=utcnow(), actor="admin", action="password_set", detail=f"user={username}"))

    def grant_role(self, username: str, role: str, actor: str = "admin") -> bool:
        """Give an account a role; False when it had it already."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        with self._session() as session:
            user_id = self._user_id(session, username)
            if role in _roles(session, user_id):
                return False
            session.add(StaffRoleRow(user_id=user_id, role=role))
            session.add(AuditRow(at=utcnow(), actor=actor, action="role_granted", detail=f"user={username} role={role}"))
            return True

    def revoke_role(self, username: str, role: str, actor: str = "admin") -> bool:
        """Take a role away; False when the account did not have it. Takes effect on its next request."""
        with self._session() as session:
            user_id = self._user_id(session, username)
            result = session.execute(delete(StaffRoleRow).where(and_(StaffRoleRow.user_id == user_id, StaffRoleRow.role == role)))
            if result.rowcount:
                session.add(AuditRow(at=utcnow(), actor=actor, action="role_revoked", detail=f"user={username} role={role}"))
            return bool(result.rowcount)

    def roles_of(self, username: str) -> Tuple[str, ...]:
        with self._session() as session:
            return _roles(session, self._user_id(session, username))

    @staticmethod
    def _user_id(session: Session, username: str) -> int:
        user_id = session.execute(select(StaffUserRow.id).where(StaffUserRow.username == username)).scalar_one_or_none()
        if user_id is None:
            raise NotFound(username)
        return user_id

    def user_exists(self, username: str) -> bool:
        with self._session() as session:
            return session.execute(select(StaffUserRow.id).where(StaffUserRow.username == username)).first() is not None

    _DUMMY_HASH = generate_password_hash(secrets.token_hex(16))

    def check_password(self, username: str, password: str) -> Optional[int]:
        """The user's id when the password is right and the account active."""
        with self._session() as session:
            row = session.execute(select(StaffUserRow).where(StaffUserRow.username == username)).scalar_one_or_none()
            # Hash even for unknown names, so that timing does not reveal which accounts exist.
            ok = check_password_hash(row.password_hash if row else self._DUMMY_HASH, password)
            return row.id if (row is not None and ok and row.active) else None

    def open_session(self, user_id: int, idle: timedelta, maximum: timedelta) -> Tuple[str, StaffSession]:
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self._session() as session:
            user = session.get(StaffUserRow, user_id)
            row = StaffSessionRow(session_hash=_sha256(secret), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
                                  created_at=now, last_seen_at=now, expires_at=min(now + idle, now + maximum))
            session.add(row)
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at < now))
            return secret, StaffSession(user_id, user.username, row.csrf_token, row.expires_at, _roles(session, user_id))

    def touch_session(self, secret: str, idle: timedelta, maximum: timedelta) -> Optional[StaffSession]:
        """The live session for a cookie value, its idle expiry pushed on; None when expired."""
        now = utcnow()
        with self._session() as session:
            row = session.execute(
                select(StaffSessionRow).where(StaffSessionRow.session_hash == _sha256(secret))
            ).scalar_one_or_none()
            if row is None:
                return None
            user = session.get(StaffUserRow, row.user_id)
            if row.expires_at <= now or user is None or not user.active:
                session.delete(row)
                return None
            row.last_seen_at = now
            row.expires_at = min(now + idle, row.created_at + maximum)
            return StaffSession(user.id, user.username, row.csrf_token, row.expires_at, _roles(session, user.id))

    def close_session(self, secret: str) -> None:
        with self._session() as session:
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.session_hash == _sha256(secret)))

    # ---- API tokens ----

    def create_token(self, name: str) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._session() as session:
            session.add(ApiTokenRow(name=name, token_hash=_sha256(token), created_at=utcnow()))
            session.add(AuditRow(at=utcnow(), actor="admin", action="token_created", detail=f"token={name}"))
        return token

    def revoke_token(self, name: str) -> None:
        with self._session() as session:
            result = session.execute(update(ApiTokenRow).where(and_(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None)))
                                     .values(revoked_at=utcnow()))
            if result.rowcount != 1:
                raise NotFound(name)
            session.add(AuditRow(at=utcnow(), actor="admin", action="token_revoked", detail=f"token={name}"))

    def check_token(self, token: str) -> Optional[str]:
        """The token's name when it is known and not revoked."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = _sha256(token)
        with self._session() as session:
            row = session.execute(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)).scalar_one_or_none()
            if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
                return None
            row.last_used_at = utcnow()
            return row.name

    # ---- webhook outbox ----

    def lease_notices(self, limit: int = 20, lease: timedelta = timedelta(seconds=60)) -> List[Dict[str, Any]]:
        """Undelivered notices that are due, each leased to the caller for `lease`."""
        now = utcnow()
        leased = []
        with self._session() as session:
            candidates = session.execute(
                select(OutboxRow.id)
                .where(and_(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now,
                            or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < now)))
                .order_by(OutboxRow.id).limit(limit)
            ).scalars().all()
            for row_id in candidates:
                result = session.execute(
                    update(OutboxRow)
                    .where(and_(OutboxRow.id == row_id, or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < now)))
                    .values(locked_until=now + lease)
                )
                if result.rowcount == 1:
                    row = session.get(OutboxRow, row_id)
                    leased.append({"id": row.id, "payload": dict(row.payload), "attempts": row.attempts})
        return leased

    def mark_delivered(self, notice_id: int) -> None:
        with self._session() as session:
            session.execute(update(OutboxRow).where(OutboxRow.id == notice_id)
                            .values(delivered_at=utcnow(), locked_until=None, last_error=None,
                                    attempts=OutboxRow.attempts + 1))

    def mark_failed(self, notice_id: int, error: str, retry_at: datetime) -> None:
        with self._session() as session:
            session.execute(update(OutboxRow).where(OutboxRow.id == notice_id)
                            .values(attempts=OutboxRow.attempts + 1, next_attempt_at=retry_at,
                                    locked_until=None, last_error=error[:200]))

    def outbox(self) -> List[Dict[str, Any]]:
        with self._session() as session:
            rows = session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars().all()
            return [{"id": r.id, "reference": r.handoff_reference, "payload": dict(r.payload), "attempts": r.attempts,
                     "next_attempt_at": r.next_attempt_at, "last_error": r.last_error, "delivered_at": r.delivered_at}
                    for r in rows]

    # ---- retention ----

    def purge(self, older_than: datetime, actor: str = "retention") -> int:
        """Delete handoffs (with their transcripts) created before `older_than`, their notices, and
        expired sessions. The audit log keeps its rows: they hold no patient details."""
        with self._session() as session:
            references = session.execute(select(HandoffRow.reference).where(HandoffRow.created_at < older_than)).scalars().all()
            if references:
                session.execute(delete(OutboxRow).where(OutboxRow.handoff_reference.in_(references)))
                session.execute(delete(HandoffRow).where(HandoffRow.reference.in_(references)))
            session.execute(delete(OutboxRow).where(and_(OutboxRow.delivered_at.isnot(None), OutboxRow.delivered_at < older_than)))
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at < utcnow()))
            session.add(AuditRow(at=utcnow(), actor=actor, action="purged",
                                 detail=f"{len(references)} handoffs created before {older_than:%Y-%m-%d %H:%M} UTC"))
            return len(references)


def _roles(session: Session, user_id: int) -> Tuple[str, ...]:
    return tuple(sorted(session.execute(select(StaffRoleRow.role).where(StaffRoleRow.user_id == user_id)).scalars()))


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
