"""The database: engine, sessions, and the per-meeting write lock.

One engine per app. SQLite runs in WAL mode with ``synchronous=FULL`` and foreign keys on;
PostgreSQL through psycopg 3. Every write to a meeting's log happens inside
:func:`locked_meeting`, whose first statement takes the meeting's row lock (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite a no-op ``UPDATE``, which takes SQLite's write lock before the
transaction has read anything, so it can never hit a stale snapshot). An in-process lock per
meeting in front of it keeps threads of one process from queueing inside the database.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tally.store.models import Meeting

CONNECT_TIMEOUT = 10
"""Seconds a new PostgreSQL connection may take before the request gets 503 ``unavailable``."""

_process_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
_process_locks_guard = threading.Lock()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A restarted PostgreSQL (docs/reliability.md "Faults"): ``pool_pre_ping`` tests every pooled
    # connection on checkout, so the connections the restart killed are replaced, not used (one
    # disconnect found invalidates the whole pool); while the server is down a connect fails at
    # once (503 ``unavailable``), and ``connect_timeout`` bounds a connect to a host that does
    # not answer at all, so no request hangs on it.
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT})


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["piaojue.engine"] = engine
    app.extensions["piaojue.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["piaojue.engine"]


def session() -> Session:
    """The request's (or CLI command's) session, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["piaojue.sessionmaker"]()
    return g.db_session


def new_session() -> Session:
    """A session of its own (not the request's), for a short independent transaction."""
    return current_app.extensions["piaojue.sessionmaker"]()


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()


def process_lock(meeting_id: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks[meeting_id]


@contextmanager
def locked_meeting(meeting_id: str) -> Iterator[tuple[Session, Meeting]]:
    """A fresh write transaction holding the meeting's lock; commits on success.

    Yields the session and the locked :class:`Meeting` row (``LookupError`` if there is none).
    """
    maker = current_app.extensions["piaojue.sessionmaker"]
    with process_lock(meeting_id), maker() as db_session:
        try:
            if db_session.get_bind().dialect.name == "sqlite":
                db_session.execute(update(Meeting).where(Meeting.id == meeting_id).values(log_size=Meeting.log_size))
                meeting = db_session.scalar(select(Meeting).where(Meeting.id == meeting_id))
            else:
                meeting = db_session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
            if meeting is None:
                raise LookupError(meeting_id)
            yield db_session, meeting
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise


def ping() -> None:
    with engine().connect() as connection:
        connection.execute(text("SELECT 1"))
