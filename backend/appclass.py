"""The Flask class the app is made of: JSON responses through orjson, and no cookie
session.

orjson gives the same output as Flask's default provider (UTF-8, keys in insertion
order, Decimal and dates as Flask writes them), several times faster on list pages.
The API is token-based and nothing reads ``flask.session``,
so no cookie is verified or signed on each request. The request's transaction
ends in one place, ``App.dispatch_request``."""
from __future__ import annotations

import orjson
from flask import Flask, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# int keys (a list field's item index in validation errors) become strings, as with json
_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_NON_STR_KEYS)


class OrjsonProvider(DefaultJSONProvider):
    """Flask's documented JSON provider hook, through orjson both ways. Reading,
    orjson refuses what the standard library would accept and then fail on (a 500):
    nesting deeper than 1024, integers past a double, lone surrogates; all are a
    ValueError, which Flask (and the route parser) answer with 400."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj, **kwargs) -> str:
        # ``response()`` (jsonify, flask-smorest) asks for compact separators: orjson's
        # only output
        if kwargs.get("separators") == (",", ":"):
            del kwargs["separators"]
        if kwargs:  # options only the standard library understands (indent, ...)
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()

    def loads(self, s, **kwargs):
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)


class NoSessions(SessionInterface):
    """No cookie session: nothing to sign or verify on each request."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None


class App(Flask):
    """Flask, with the request's one transaction boundary (indico's pattern): the
    view runs, then its changes are committed in one place; a read (GET, HEAD,
    OPTIONS) or an error response is rolled back, and so is any exception. Views and
    services never commit (jobs and CLI commands own their transactions)."""

    json_provider_class = OrjsonProvider
    session_interface = NoSessions()

    def dispatch_request(self):
        try:
            response = self.make_response(super().dispatch_request())
            if request.method in READ_ONLY_METHODS or response.status_code >= 400:
                db.session.rollback()
            else:
                db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return response


@event.listens_for(Session, "before_flush")
def _reads_never_write(session, flush_context, instances) -> None:
    """A GET that would change a row is a bug: refuse it loudly (GET answers are
    cached, retried and prefetched; vote closing at the deadline belongs to the
    scheduled job, not to whoever looks)."""
    if has_request_context() and request.method in READ_ONLY_METHODS and (
            session.new or session.dirty or session.deleted):
        raise RuntimeError(f"{request.method} {request.path} tried to write to the database")
