"""Database connection settings.

SQLite runs in WAL with foreign keys on and a busy timeout. BEGIN is sent with a
transaction's first statement. Request transactions that start with a read begin
DEFERRED, so readers never hold up each other or writers; the first write
(INSERT/UPDATE/DELETE, a SAVEPOINT, or a ``SELECT ... FOR UPDATE`` in the ORM)
upgrades the connection: the read-only snapshot is committed (nothing to lose) and
``BEGIN IMMEDIATE`` waits for the write lock. A transaction that starts with a write
begins IMMEDIATE at once. That is read-committed behaviour,
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


def init_app(app) -> None:
    """Nothing to bind: the listeners above apply to every engine and session."""
