"""Database connection settings.

SQLite runs in WAL with foreign keys on and a busy timeout. Request transactions
begin DEFERRED, so readers never hold up each other or writers; the first write
(INSERT/UPDATE/DELETE, a SAVEPOINT, or a ``SELECT ... FOR UPDATE`` in the ORM)
first upgrades the connection: the read-only snapshot is committed (nothing to lose)
and ``BEGIN IMMEDIATE`` waits for the write lock. That is read-committed behaviour,
as on PostgreSQL, and it avoids SQLite's 'database is locked' failure when a read
snapshot tries to become a writer after someone else wrote. Work outside a request
(CLI commands, jobs) begins IMMEDIATE straight away.
"""
from __future__ import annotations

import sqlite3

from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    deferred = has_request_context()
    conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")
    conn.info["sqlite_read_only"] = deferred


def _upgrade(conn) -> None:
    """Turn the connection's read-only transaction into a write transaction."""
    if conn.info.get("sqlite_read_only"):
        conn.info["sqlite_read_only"] = False
        dbapi = conn.connection.dbapi_connection
        dbapi.execute("COMMIT")
        dbapi.execute("BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_before_write(conn, cursor, statement, parameters, context, executemany):
    if conn.info.get("sqlite_read_only") and statement.lstrip()[:9].upper().startswith(
            _WRITE_PREFIXES):
        _upgrade(conn)


@event.listens_for(Session, "do_orm_execute")
def _sqlite_lock_for_update(state):
    # SQLite ignores FOR UPDATE; what it means here is "I am about to write".
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        conn = state.session.connection()
        if conn.dialect.name == "sqlite":
            _upgrade(conn)


def init_app(app) -> None:
    """Nothing to bind: the listeners above apply to every engine and session."""
