"""Staff accounts, their roles and signed-in sessions, and the API tokens of other systems."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Tuple

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.handoff.database import Database, NotFound, utcnow
from clinic.handoff.schema import ApiTokenRow, AuditRow, StaffRoleRow, StaffSessionRow, StaffUserRow

TOKEN_PREFIX = "tpi_"
# What a staff account may do beyond the handoff queue, which every account works. Reviewers sort
# the review queue of unanswered questions (console: Review).
ROLES = ("reviewer",)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    username: str
    csrf_token: str
    expires_at: datetime
    roles: Tuple[str, ...] = ()


def _roles(session: Session, user_id: int) -> Tuple[str, ...]:
    return tuple(sorted(session.execute(select(StaffRoleRow.role).where(StaffRoleRow.user_id == user_id)).scalars()))


class Staff(Database):
    def create_user(self, username: str, password: str) -> None:
        with self._session() as session:
            session.add(
                StaffUserRow(
                    username=username, password_hash=generate_password_hash(password), active=True, created_at=utcnow()
                )
            )
            session.add(AuditRow(at=utcnow(), actor="admin", action="user_created", detail=f"user={username}"))

    def set_password(self, username: str, password: str) -> None:
        with self._session() as session:
            result = session.execute(
                update(StaffUserRow)
                .where(StaffUserRow.username == username)
                .values(password_hash=generate_password_hash(password))
            )
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
            session.add(
                AuditRow(at=utcnow(), actor=actor, action="role_granted", detail=f"user={username} role={role}")
            )
            return True

    def revoke_role(self, username: str, role: str, actor: str = "admin") -> bool:
        """Take a role away; False when the account did not have it. Takes effect on its next request."""
        with self._session() as session:
            user_id = self._user_id(session, username)
            result = session.execute(
                delete(StaffRoleRow).where(and_(StaffRoleRow.user_id == user_id, StaffRoleRow.role == role))
            )
            if result.rowcount:
                session.add(
                    AuditRow(at=utcnow(), actor=actor, action="role_revoked", detail=f"user={username} role={role}")
                )
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
            row = StaffSessionRow(
                session_hash=_sha256(secret),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=min(now + idle, now + maximum),
            )
            session.add(row)
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at < now))
            return secret, StaffSession(
                user_id, user.username, row.csrf_token, row.expires_at, _roles(session, user_id)
            )

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
            result = session.execute(
                update(ApiTokenRow)
                .where(and_(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None)))
                .values(revoked_at=utcnow())
            )
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
