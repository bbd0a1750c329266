"""The Flask class the app is made of: JSON responses through orjson, and no cookie
session.

orjson gives the same output as Flask's default provider (UTF-8, keys in insertion
order, Decimal and dates as Flask writes them), several times faster on list pages.
Request bodies are still read by the standard library, so what counts as malformed
input does not change. The API is token-based and nothing reads ``flask.session``,
so no cookie is verified or signed on each request. Whether a view or hook is
``async def`` is looked up once per function, not on every request."""
from __future__ import annotations

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface

# int keys (a list field's item index in validation errors) become strings, as with json
_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_NON_STR_KEYS)


class OrjsonProvider(DefaultJSONProvider):
    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:  # options only the standard library understands (indent, ...)
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        return self._app.response_class(body, mimetype=self.mimetype)


class NoSessions(SessionInterface):
    """No cookie session: nothing to sign or verify on each request."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None


class App(Flask):
    json_provider_class = OrjsonProvider
    session_interface = NoSessions()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ensured: dict = {}

    def ensure_sync(self, func):
        """Flask's answer (the function, or a wrapper for ``async def``), remembered:
        Flask asks for the view and every hook on each request, and each answer costs
        an ``inspect`` of the function's code flags."""
        try:
            return self._ensured[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if len(self._ensured) < 1024:  # views, hooks and handlers: a fixed few
            self._ensured[func] = sync
        return sync
