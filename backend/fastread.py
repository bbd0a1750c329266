"""Hot read paths without the per-query cost of a Session.

Every signed-in request reads the caller's roles and rooms, and the busiest screens
(an owner's ticket list, the bot's answers) are a few indexed SELECTs. Through a
Session each costs ~60-130 µs of Python around a ~10 µs query (transaction events,
ORM state, Result objects), which is most of such a request. ``fetch`` runs a Core
SELECT that SQLAlchemy compiled once per dialect on a pooled DBAPI connection, and
converts values with the column types' own
result processors: the rows are what ``Connection.execute`` would give (Decimal,
aware datetimes, enums), as named tuples.

Only for reads. Before the request's Session has begun, reads go through the
thread's connection of a reader engine (``_Reader``: autocommit, no ping, no reset,
kept by the thread); after, they run on the Session's connection, inside its
transaction (see ``_connection``).
"""
from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict, namedtuple
from functools import partial
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
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

    __slots__ = ("compiled", "positional", "bind_processors", "expanding", "row", "new_row",
                 "result_processors", "dialect", "recipes")

    def __init__(self, statement, dialect):
        self.dialect = dialect
        self.compiled = compiled = statement.compile(dialect=dialect)
        self.positional = dialect.positional
        self.bind_processors = {k: v for k, v in compiled._bind_processors.items() if v}
        self.expanding = any(b.expanding for b in compiled.bind_names)
        self.row = namedtuple("Row", [c.keyname for c in compiled._result_columns],
                              rename=True)
        self.new_row = partial(tuple.__new__, self.row)  # _make without its Python frame
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


class _Reader:
    """The reader engine of one main engine, and the connection each thread reads on.

    A thread keeps its reader connection from its first read until it ends (or the
    engine is disposed): checking one out of the pool and back for every request
    cost more than the request's own reads. The connection is in autocommit and holds
    no transaction or lock between reads. A thread may thus keep two connections
    open, this one and its Session's (README: PostgreSQL ``max_connections``)."""

    def __init__(self, main: Engine, engine: Engine):
        self.main, self.engine = main, engine
        self.local = threading.local()
        self.finalizers: set = set()  # one per thread that holds a connection
        self.lock = threading.Lock()

    def connection(self):
        held = getattr(self.local, "held", None)
        if held is not None and held.box:
            return held.box[0]
        held = self.local.held = _Held(self.engine.raw_connection())
        # given back when the thread ends (its locals go) or the engine is disposed
        held.finalizer = weakref.finalize(held, _give_back, held.box)
        with self.lock:  # threads come and go (a dev server's): forget those gone
            self.finalizers = {f for f in self.finalizers if f.alive}
            self.finalizers.add(held.finalizer)
        return held.box[0]

    def current(self):
        held = getattr(self.local, "held", None)
        return held.box[0] if held is not None and held.box else None

    def drop(self) -> None:
        """The thread's connection failed (the server dropped it): never use it again."""
        held, self.local.held = getattr(self.local, "held", None), None
        if held is not None and held.box:
            held.finalizer.detach()
            held.box.pop().invalidate()

    def dispose(self) -> None:
        for finalizer in list(self.finalizers):
            finalizer()
        self.engine.dispose()

    def forget(self) -> None:
        """In a forked child: the connections are the parent's. Never close, give back
        or even garbage-collect them (a PostgreSQL connection says goodbye on the
        socket it shares with the parent): keep them referenced until the child ends."""
        for finalizer in list(self.finalizers):
            detached = finalizer.detach()
            if detached:
                _INHERITED.append(detached)
        self.engine.dispose(close=False)


class _Held:
    """A thread's reader connection, in a box the finalizer empties."""

    __slots__ = ("box", "finalizer", "__weakref__")

    def __init__(self, conn):
        self.box = [conn]
        self.finalizer = None


def _give_back(box: list) -> None:
    if box:
        box.pop().close()


_INHERITED: list = []
_READERS: dict = {}  # id(main engine) -> _Reader
_READERS_LOCK = threading.Lock()


def _reader(engine: Engine) -> _Reader | None:
    """The reader for ``engine``: the same database and connection events (SQLite
    pragmas), but in autocommit, with no ping on checkout and nothing to reset on
    return. On PostgreSQL that saves three round trips per request (the ping, BEGIN
    and the ROLLBACK when the connection goes back); a dropped connection is detected
    when a read fails and the read is retried once (``fetch``). None for an in-memory
    SQLite database: it exists only in its own connection, so it is read through the
    main engine."""
    known = _READERS.get(id(engine))
    if known is not None and known.main is engine:
        return known
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    with _READERS_LOCK:
        known = _READERS.get(id(engine))
        if known is None or known.main is not engine:
            options = {k: v for k, v in current_app.config["SQLALCHEMY_ENGINE_OPTIONS"].items()
                       if k != "pool_pre_ping"}
            # no overflow limit: each thread holds one connection while it lives, so
            # the threads bound the connections (a limit would make the 16th wait)
            options.update(isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                           max_overflow=-1)
            known = _READERS[id(engine)] = _Reader(engine, create_engine(engine.url, **options))
        return known


@event.listens_for(Engine, "engine_disposed")
def _main_engine_disposed(engine) -> None:
    known = _READERS.pop(id(engine), None)
    if known is not None:
        known.dispose()


def _forget_readers_in_child() -> None:
    # a forked child (an rq job) opens its own connections and must never close
    # its parent's
    for reader in _READERS.values():
        reader.forget()
    _READERS.clear()


os.register_at_fork(after_in_child=_forget_readers_in_child)


def _connection(engine: Engine):
    """The DBAPI connection to read on (``engine``: the app's). Once the request's Session has a transaction,
    its connection (so its writes are seen). Before that, the thread's reader
    connection (``_Reader``); for an in-memory SQLite database, one connection of the
    main engine held in the app context until it ends or the Session begins."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            conn = session.connection()
            if "deadline" in conn.info:  # bounded by db_setup.set_deadline, as any statement
                check_deadline(conn.info)
            return conn.connection
    reader = _reader(engine)
    if reader is not None:
        return reader.connection()
    conn = g.get("_fastread_connection")
    if conn is None:
        conn = g._fastread_connection = engine.raw_connection()
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
    engine = db.engine
    dialect = engine.dialect
    plan = _plan(statement, dialect)
    sql, args = plan.arguments(params or {})
    for attempt in (1, 2):
        conn = _connection(engine)
        cursor = conn.cursor()
        try:
            cursor.execute(sql, args)
            raw = cursor.fetchall()
            processors = plan.processors_for(cursor.description)
            break
        except dialect.loaded_dbapi.Error as exc:
            # a reader connection the server dropped (restart, idle timeout): once more
            # on a fresh one; inside the Session's transaction the Session decides
            reader = _reader(engine)
            if (attempt == 2 or reader is None or reader.current() is not conn
                    or not dialect.is_disconnect(exc, conn.dbapi_connection, cursor)):
                raise
            reader.drop()
        finally:
            cursor.close()
    new_row = plan.new_row
    if not raw:
        return []
    if not processors:
        return list(map(new_row, raw))
    # column-wise: each processor maps over its column in C, then rows are zipped back
    columns = list(zip(*raw))
    for i, processor in processors:
        columns[i] = map(processor, columns[i])
    return list(map(new_row, zip(*columns)))


def init_app(app) -> None:
    app.teardown_appcontext(release)
