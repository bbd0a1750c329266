"""Database connection settings.

SQLite runs in WAL with foreign keys on and a busy timeout. BEGIN is sent with a
transaction's first statement. Request transactions that start with a read begin
DEFERRED, so readers never hold up each other or writers; the first write
(INSERT/UPDATE/DELETE, a SAVEPOINT, or a ``SELECT ... FOR UPDATE`` in the ORM)
upgrades the connection: the read-only snapshot is committed (nothing to lose) and
``BEGIN IMMEDIATE`` waits for the write lock. That is read-committed behaviour, as on
PostgreSQL, and it avoids SQLite's 'database is locked' failure when a read snapshot
tries to become a writer after someone else wrote. A transaction that starts with a
write, and all work outside a request (CLI commands, jobs), begins IMMEDIATE.

A request that must answer in time (the WeChat push) bounds its transactions with
``set_deadline``: every statement, lock wait and COMMIT ends by a given moment.
"""
from __future__ import annotations

import sqlite3
import time

from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

BUSY_TIMEOUT_MS = 30000
_WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP",
                   "ALTER")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, emit BEGIN (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # BEGIN waits for the transaction's first statement, which says which kind it needs
    if conn.dialect.name == "sqlite":
        conn.info["sqlite_begin"] = "DEFERRED" if has_request_context() else "IMMEDIATE"


def _upgrade(conn) -> None:
    """Make the connection's transaction a write transaction."""
    if conn.info.get("sqlite_begin"):  # not begun yet: begin as a writer
        conn.info["sqlite_begin"] = "IMMEDIATE"
    elif conn.info.get("sqlite_read_only"):  # commit the read-only snapshot first
        conn.info["sqlite_read_only"] = False
        dbapi = conn.connection.dbapi_connection
        dbapi.execute("COMMIT")
        if "sqlite_end" in conn.info:  # bounded (set_deadline): wait until then at most
            dbapi.execute(f"PRAGMA busy_timeout = {_ms_until(conn.info['sqlite_end'])}")
        dbapi.execute("BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_before_statement(conn, cursor, statement, parameters, context, executemany):
    info = conn.info
    if not (info.get("sqlite_begin") or info.get("sqlite_read_only")):
        return
    if statement.lstrip()[:9].upper().startswith(_WRITE_PREFIXES):
        _upgrade(conn)
    mode = info.pop("sqlite_begin", None)
    if mode is not None:
        conn.connection.dbapi_connection.execute(f"BEGIN {mode}")
        info["sqlite_read_only"] = mode == "DEFERRED"


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _sqlite_end(conn):
    conn.info.pop("sqlite_begin", None)
    conn.info.pop("sqlite_read_only", None)


@event.listens_for(Session, "do_orm_execute")
def _sqlite_lock_for_update(state):
    # SQLite ignores FOR UPDATE; what it means here is "I am about to write".
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        conn = state.session.connection()
        if conn.dialect.name == "sqlite":
            _upgrade(conn)


# ------------------------------------------------------------------ deadlines
class DeadlineExceeded(Exception):
    """A transaction bounded by ``set_deadline`` ran out of time."""


def set_deadline(session: Session, end: float, statement_seconds: float) -> None:
    """Bound every transaction ``session`` begins from now on (a request's session:
    for the rest of the request), so that its database work is over by ``end``
    (a ``time.monotonic()`` value). With S = ``statement_seconds``:

    - no statement starts after ``end - 2S`` (checked before each one):
      DeadlineExceeded;
    - PostgreSQL: ``SET LOCAL statement_timeout`` and ``lock_timeout`` of S, so each
      statement, lock wait included, and the COMMIT are cut at S: by ``end``;
    - SQLite: lock waits (the busy timeout) and execution (a progress handler) stop
      at ``end - S``; a COMMIT in WAL mode holds the write lock already and does not
      wait. Both are put back when the connection returns to the pool.

    A statement cut short raises the driver's error (``is_timeout`` tells it apart);
    the caller rolls back."""
    session.info["deadline"] = (end, statement_seconds)


def check_deadline(info: dict) -> None:
    if time.monotonic() > info["deadline"]:
        raise DeadlineExceeded("no time left for another statement")


@event.listens_for(Engine, "before_cursor_execute", insert=True)  # before any lock wait
def _before_statement(conn, cursor, statement, parameters, context, executemany):
    if "deadline" in conn.info:
        check_deadline(conn.info)


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement or lock wait cut short by a deadline."""
    if isinstance(exc, DeadlineExceeded):
        return True
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in ("55P03", "57014"):  # lock_not_available, canceled
        return True
    message = str(orig).lower()
    return isinstance(orig, sqlite3.OperationalError) and (
        "locked" in message or "busy" in message or "interrupted" in message)


def _ms_until(moment: float) -> int:
    return max(1, int((moment - time.monotonic()) * 1000))


@event.listens_for(Session, "after_begin")
def _bound_transaction(session, transaction, connection):
    bound = session.info.get("deadline")
    if bound is None or transaction.nested:
        return
    end, seconds = bound
    info = connection.info
    info["deadline"] = end - 2 * seconds
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        sqlite_end = info["sqlite_end"] = end - seconds
        raw.execute(f"PRAGMA busy_timeout = {_ms_until(sqlite_end)}")
        # called every 1000 virtual-machine steps; a true value interrupts the statement
        raw.set_progress_handler(lambda: time.monotonic() > sqlite_end, 1000)
    else:  # SET LOCAL: for this transaction only
        ms = max(1, int(seconds * 1000))
        raw.execute(f"SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}")


@event.listens_for(Pool, "checkin")
def _unbound_connection(dbapi_connection, connection_record):
    if connection_record is None or connection_record.info.pop("deadline", None) is None:
        return
    if connection_record.info.pop("sqlite_end", None) is not None and dbapi_connection:
        try:
            dbapi_connection.set_progress_handler(None, 0)
            dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error:  # never pool a connection that keeps a short timeout
            connection_record.invalidate()


def init_app(app) -> None:
    """Nothing to bind: the listeners above apply to every engine and session."""
