"""The connection to the clinic's database, through SQLAlchemy so that one SQLite file and a shared
PostgreSQL server behave the same: the engine, the schema made on first use, and one transaction
per call, with database trouble raised as ``StoreUnavailable``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from clinic.handoff.schema import LATER_COLUMNS, Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StoreUnavailable(Exception):
    """The database cannot be reached or written; nothing was stored."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    """The handoff is not in a state that allows the change (someone else got there first)."""


def _make_engine(url: str) -> Engine:
    # hide_parameters: SQLAlchemy otherwise quotes the statement's values (names, phone numbers)
    # in every error message, and error messages end up in logs.
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True, future=True
        )

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


def _add_missing_columns(engine: Engine) -> None:
    tables = {
        table: {c["name"] for c in inspect(engine).get_columns(table)}
        for table in {table for table, _ in LATER_COLUMNS}
    }
    for (table, column), ddl in LATER_COLUMNS.items():
        if column not in tables[table]:
            try:
                with engine.begin() as connection:
                    connection.execute(text(ddl))
            except DBAPIError as error:
                # Another process may have added it between our look and the ALTER.
                if "duplicate" not in str(error.orig).lower() and "exists" not in str(error.orig).lower():
                    raise


class Database:
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
