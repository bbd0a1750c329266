"""Hot read paths without the per-query cost of a Session.

Every signed-in request reads the caller's roles and rooms, and the busiest screens
(an owner's ticket list, the bot's answers) are a few indexed SELECTs. Through a
Session each costs ~60-130 µs of Python around a ~10 µs query (transaction events,
ORM state, Result objects), which is most of such a request. ``fetch`` runs a Core
SELECT that SQLAlchemy compiled once per dialect on a pooled DBAPI connection, and
converts values with the column types' own
result processors: the rows are what ``Connection.execute`` would give (Decimal,
aware datetimes, enums), as named tuples.

Only for reads. Before the request's Session has begun, reads share one pooled
connection (autocommit on SQLite; on PostgreSQL a read-committed transaction rolled
back when the connection goes back to the pool), given back when the Session begins
or the app context ends; after, they run on the Session's connection, inside its
transaction (see ``_connection``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from typing import Any

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.db_setup import check_deadline
from backend.extensions import db

_PLANS: OrderedDict = OrderedDict()
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 512


class _Plan:
    """A statement compiled for one dialect, with its bind and result processors, and
    for each shape of parameters (which are given, how long each list is) a recipe
    from the parameters to the driver's arguments: SQLAlchemy expands the ``IN``
    lists and finds the processors once per shape, not on each call."""

    __slots__ = ("compiled", "positional", "bind_processors", "expanding", "row",
                 "result_processors", "dialect", "recipes")

    def __init__(self, statement, dialect):
        self.dialect = dialect
        self.compiled = compiled = statement.compile(dialect=dialect)
        self.positional = dialect.positional
        self.bind_processors = {k: v for k, v in compiled._bind_processors.items() if v}
        self.expanding = any(b.expanding for b in compiled.bind_names)
        self.row = namedtuple("Row", [c.keyname for c in compiled._result_columns],
                              rename=True)
        self.result_processors = None  # known after the first execution (cursor types)
        self.recipes: dict = {}

    def _recipe(self, params: dict) -> tuple:
        """(sql, names, steps); a step is (parameter, list index or None, processor,
        constant) and gives the value of one driver argument."""
        if self.expanding:
            state = self.compiled.construct_expanded_state(params)
            sql, names, values = state.statement, state.positiontup, state.parameters
            processors = dict(self.bind_processors, **state.processors)
        else:
            compiled = self.compiled
            sql, names, values = compiled.string, compiled.positiontup, compiled.construct_params(
                params)
            processors = self.bind_processors
        names = list(values) if names is None else names
        lists = {k for k, v in params.items() if isinstance(v, (list, tuple))}
        steps = []
        for name in names:
            processor = processors.get(name)
            base, _, index = name.rpartition("_")
            if name in params and name not in lists:
                steps.append((name, None, processor, None))
            elif base in lists and index.isdigit():
                steps.append((base, int(index) - 1, processor, None))
            else:  # a value fixed in the statement (a literal IN list, OFFSET 0)
                value = values[name]
                steps.append((None, None, None, processor(value) if processor else value))
        return sql, names, tuple(steps)

    def arguments(self, params: dict) -> tuple[str, Any]:
        shape = tuple((k, len(v)) if isinstance(v, (list, tuple)) else k
                      for k, v in params.items())
        recipe = self.recipes.get(shape)
        if recipe is None:
            recipe = self.recipes[shape] = self._recipe(params)
        sql, names, steps = recipe
        values = []
        for source, index, processor, constant in steps:
            if source is None:
                values.append(constant)
                continue
            value = params[source] if index is None else params[source][index]
            values.append(processor(value) if processor else value)
        if self.positional:
            return sql, tuple(values)
        return sql, dict(zip(names, values))

    def processors_for(self, description) -> list:
        if self.result_processors is None:
            columns = self.compiled._result_columns
            self.result_processors = [
                (i, processor) for i, processor in (
                    (i, column.type._cached_result_processor(self.dialect, description[i][1]))
                    for i, column in enumerate(columns))
                if processor is not None
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


def _connection():
    """The DBAPI connection to read on. Once the request's Session has a transaction,
    its connection (so its writes are seen). Before that, one pooled connection held
    in the app context for every read until the context ends, or until the Session
    begins: it is given back then, before the Session takes one of its own, so a
    request never holds two connections and a pool sized for the threads stays
    enough."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            conn = session.connection()
            if "deadline" in conn.info:  # bounded by db_setup.set_deadline, as any statement
                check_deadline(conn.info)
            return conn.connection
    conn = g.get("_fastread_connection")
    if conn is None:
        conn = g._fastread_connection = db.engine.raw_connection()
    return conn


def release(exc=None) -> None:
    conn = g.pop("_fastread_connection", None) if has_app_context() else None
    if conn is not None:
        conn.close()


@event.listens_for(Session, "after_transaction_create")
def _session_begins(session, transaction) -> None:
    if transaction.parent is None:
        release()


def fetch(statement, params: dict | None = None) -> list:
    """All rows of the Core SELECT ``statement`` with ``params`` (named tuples).

    Keep statements long-lived (module level or cached by shape): compilation is
    cached per statement object."""
    plan = _plan(statement, db.engine.dialect)
    sql, args = plan.arguments(params or {})
    cursor = _connection().cursor()
    try:
        cursor.execute(sql, args)
        raw = cursor.fetchall()
        processors = plan.processors_for(cursor.description)
    finally:
        cursor.close()
    make = plan.row._make
    if not processors:
        return [make(r) for r in raw]
    rows = []
    for r in raw:
        r = list(r)
        for i, processor in processors:
            r[i] = processor(r[i])
        rows.append(make(r))
    return rows


def init_app(app) -> None:
    app.teardown_appcontext(release)
