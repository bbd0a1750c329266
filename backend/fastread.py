"""Hot read paths without the per-query cost of a Session.

Every signed-in request reads the caller's roles and rooms, and the busiest screens
(an owner's ticket list, the bot's answers) are a few indexed SELECTs. Through a
Session each costs ~60-130 µs of Python around a ~10 µs query (transaction events,
ORM state, Result objects), which is most of such a request. ``fetch`` runs a Core
SELECT that SQLAlchemy compiled once per dialect on a pooled DBAPI connection (checked
out for the query and given back), and converts values with the column types' own
result processors: the rows are what ``Connection.execute`` would give (Decimal,
aware datetimes, enums), as named tuples.

Only for reads. Before the request's Session has begun, each call runs on its own
(autocommit on SQLite; on PostgreSQL a transaction rolled back when the connection
goes back to the pool); after, on the Session's connection, inside its transaction.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from typing import Any

from flask import has_app_context

from backend.extensions import db

_PLANS: OrderedDict = OrderedDict()
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 512


class _Plan:
    """A statement compiled for one dialect, with its bind and result processors."""

    __slots__ = ("compiled", "positional", "bind_processors", "expanding", "sql",
                 "names", "row", "result_processors", "dialect")

    def __init__(self, statement, dialect):
        self.dialect = dialect
        self.compiled = compiled = statement.compile(dialect=dialect)
        self.positional = dialect.positional
        self.bind_processors = {k: v for k, v in compiled._bind_processors.items() if v}
        self.expanding = any(b.expanding for b in compiled.bind_names)
        self.sql = compiled.string
        self.names = compiled.positiontup
        self.row = namedtuple("Row", [c.keyname for c in compiled._result_columns],
                              rename=True)
        self.result_processors = None  # known after the first execution (cursor types)

    def arguments(self, params: dict) -> tuple[str, Any]:
        if self.expanding:
            state = self.compiled.construct_expanded_state(params)
            sql, values, names = state.statement, state.parameters, state.positiontup
            processors = dict(self.bind_processors, **state.processors)
        else:
            sql, names, processors = self.sql, self.names, self.bind_processors
            values = self.compiled.construct_params(params)
        if processors:
            values = {k: (processors[k](v) if k in processors else v) for k, v in values.items()}
        if self.positional:
            return sql, tuple(values[name] for name in names)
        return sql, values

    def processors_for(self, description) -> list:
        if self.result_processors is None:
            columns = self.compiled._result_columns
            self.result_processors = [
                column.type._cached_result_processor(self.dialect, description[i][1])
                for i, column in enumerate(columns)
            ]
        return self.result_processors


def _plan(statement, dialect) -> _Plan:
    key = (statement, dialect.name)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _Plan(statement, dialect)
        with _PLANS_LOCK:
            _PLANS[key] = plan
            if len(_PLANS) > _MAX_PLANS:
                _PLANS.popitem(last=False)
    return plan


_HELD = threading.local()


class connection:  # noqa: N801 - used as ``with fastread.connection():``
    """Hold one pooled connection for several ``fetch`` calls (else each fetch checks
    one out and gives it back at once). When the Session already has a transaction,
    its connection is used: a request never holds two connections, so a pool sized
    for the threads stays enough."""

    __slots__ = ("conn", "owned")

    def __enter__(self):
        self.owned = False
        held = getattr(_HELD, "conn", None)
        if held is not None:
            self.conn = held
        elif has_app_context() and db.session.registry.has() and db.session().in_transaction():
            # read on the Session's connection (and see its writes)
            self.conn = db.session.connection().connection
        else:
            self.conn = _HELD.conn = db.engine.raw_connection()
            self.owned = True
        return self.conn

    def __exit__(self, *exc):
        if self.owned:
            _HELD.conn = None
            self.conn.close()
        return False


def fetch(statement, params: dict | None = None) -> list:
    """All rows of the Core SELECT ``statement`` with ``params`` (named tuples).

    Keep statements long-lived (module level or cached by shape): compilation is
    cached per statement object."""
    plan = _plan(statement, db.engine.dialect)
    sql, args = plan.arguments(params or {})
    with connection() as conn:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, args)
            raw = cursor.fetchall()
            processors = plan.processors_for(cursor.description)
        finally:
            cursor.close()
    make = plan.row._make
    if not any(processors):
        return [make(r) for r in raw]
    pairs = list(enumerate(processors))
    return [make([p(r[i]) if p else r[i] for i, p in pairs]) for r in raw]
