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
    if not processors:
        return [make(r) for r in raw]
    rows = []
    for r in raw:
        r = list(r)
        for i, processor in processors:
            r[i] = processor(r[i])
        rows.append(make(r))
    return rows
